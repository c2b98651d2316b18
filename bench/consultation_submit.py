"""How long a patient waits after pressing "Send my request", under a local load.

    .venv/bin/python bench/consultation_submit.py [--clients 8] [--requests 25]

Serves the site as production does (gunicorn, two workers, DEBUG off, collected static files)
on loopback against a scratch database, then runs simulated patients side by side. Each one
opens the form (CSRF cookie, one-time token), fills it in and sends it. The baselines are
measured in the same run, under the same load: GET /healthz (one query) and the form's GET.
Prints the median and 95th percentile of each, and the submit's ratio to the baselines.
"""

import argparse
import http.cookiejar
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_database  # noqa: E402
from tests.servers import SECRET_KEY, collectstatic, gunicorn, production_env  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def answers(csrf, token, n):
    return {
        "csrfmiddlewaretoken": csrf,
        "form_token": token,
        "first_name": "Bench",
        "last_name": f"Patient {n}",
        "email": f"bench{n}@example.com",
        "phone": "(212) 555-0199",
        "contact_method": "phone",
        "contact_times": ["morning", "evening"],
        "date_of_birth": "1980-06-15",
        "state": "NY",
        "concern": "bipolar_depression",
        "episode": "depressive",
        "self_harm_thoughts": "no",
        "antidepressant_trials": "3+",
        "treatments_tried": ["tried_therapy", "tried_mood_stabilisers"],
        "current_medications": "Lithium 600 mg, quetiapine 50 mg",
        "medical_history": ["high_blood_pressure"],
        **{f"phq9_{i}": str(i % 4) for i in range(1, 10)},
        "modality": "telehealth",
        "treatment_preference": "iv",
        "payment": "self_pay",
        "consent_privacy": "on",
        "consent_contact": "on",
        "consent_not_emergency": "on",
    }


def timed(opener, request):
    start = time.perf_counter()
    try:
        with opener.open(request, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return time.perf_counter() - start, status


def patient(base, n, timings, lock):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    start = time.perf_counter()
    with opener.open(base + "/consultation/", timeout=30) as response:
        form = response.read().decode()
    form_time = time.perf_counter() - start
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(answers(csrf, token, n), doseq=True).encode()
    submit_time, status = timed(opener, urllib.request.Request(base + "/consultation/", data=body))
    health_time, _ = timed(opener, urllib.request.Request(base + "/healthz"))
    with lock:
        timings["form"].append(form_time)
        timings["submit"].append(submit_time)
        timings["healthz"].append(health_time)
        timings["statuses"].append(status)


def describe(values):
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="patients at once (default 8)")
    parser.add_argument("--requests", type=int, default=25, help="submissions per patient (default 25)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_consultation") as database_url:
        env = production_env(
            SECRET_KEY=SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            STATIC_ROOT=str(Path(tmp) / "static"),
            # Plain HTTP on loopback: TLS belongs to the load balancer in front of production.
            SECURE_SSL_REDIRECT="false",
            SECURE_COOKIES="false",
            CACHE_KEY_PREFIX="bench-consultation",
            CONSULTATION_RATE_LIMIT="1000000/m",
            CONSULTATION_ATTEMPT_RATE_LIMIT="1000000/m",
            LOG_LEVEL="WARNING",
        )
        collectstatic(env, Path(tmp) / "static")
        with gunicorn(env, workers=2) as base:
            warm = {"form": [], "submit": [], "healthz": [], "statuses": []}
            lock = threading.Lock()
            for n in range(5):
                patient(base, -n - 1, warm, lock)

            timings = {"form": [], "submit": [], "healthz": [], "statuses": []}
            total = args.clients * args.requests
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                list(pool.map(lambda n: patient(base, n, timings, lock), range(total)))
            elapsed = time.perf_counter() - started

    bad = [status for status in timings["statuses"] if status != 302]
    submit, submit95 = describe(timings["submit"])
    form, form95 = describe(timings["form"])
    health, health95 = describe(timings["healthz"])
    print(
        f"Consultation submit under load: {args.clients} patients at once, {total} requests, 2 gunicorn workers"
    )
    print(f"{'':24} {'median':>10} {'p95':>10}")
    print(f"{'POST /consultation/':24} {submit:8.1f}ms {submit95:8.1f}ms")
    print(f"{'GET /consultation/':24} {form:8.1f}ms {form95:8.1f}ms")
    print(f"{'GET /healthz (baseline)':24} {health:8.1f}ms {health95:8.1f}ms")
    print(f"submit / healthz: {submit / health:.1f}x    submit / form GET: {submit / form:.2f}x")
    print(f"requests saved per second: {total / elapsed:.1f}    non-redirect answers: {len(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
