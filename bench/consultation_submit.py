"""How long a patient waits after each step of the booking, under a local load, against a baseline.

    .venv/bin/python bench/consultation_submit.py [--clients 8] [--bookings 25]

Serves the site as production does (gunicorn, two workers, DEBUG off, collected static files)
on loopback against a scratch database, then runs simulated patients side by side. Each one
walks the booking as a browser does: the first step's page (CSRF cookie), a POST per step (the
draft saved in PostgreSQL), the check page, and Send (the request saved, the draft deleted, the
e-mails queued). The baselines are measured in the same run, under the same load, by the same
patients: GET /healthz (one query) and the first step's GET. Prints the median and 95th
percentile of each, and each POST's ratio to the baselines.
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

from bench.scratch import NO_RATE_LIMITS, scratch_database, server_env  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

# The booking's steps as a patient who skips everything optional answers them (12 answers).
STEPS = [
    ("you", "/consultation/you/"),
    ("safety", "/consultation/safety/"),
    ("where", "/consultation/where/"),
    ("visit", "/consultation/visit/"),
    ("send", "/consultation/check/"),
]


def answers(n):
    """Each step's answers, by step."""
    return {
        "you": {
            "first_name": "Bench",
            "last_name": f"Patient {n}",
            "email": f"bench{n}@example.com",
            "phone": "(212) 555-0199",
            "contact_method": "phone",
            "consent_privacy": "on",
            "consent_contact": "on",
        },
        "safety": {"self_harm_thoughts": "no"},
        "where": {"state": "NY", "is_adult": "yes"},
        "visit": {"modality": "telehealth"},
        "send": {"consent_not_emergency": "on"},
    }


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def timed(opener, request):
    start = time.perf_counter()
    try:
        with opener.open(request, timeout=30) as response:
            body = response.read()
            status, location = response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        body = error.read()
        status, location = error.code, error.headers.get("Location", "")
    return time.perf_counter() - start, status, location, body.decode(errors="replace")


def csrf_in(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def patient(base, n, timings, lock):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    measured = {}
    measured["GET step"], _status, _location, page = timed(opener, urllib.request.Request(base + STEPS[0][1]))
    csrf = csrf_in(page)
    outcome = []
    for name, path in STEPS:
        data = {**answers(n)[name], "csrfmiddlewaretoken": csrf}
        if name == "send":
            _seconds, _status, _location, check = timed(opener, urllib.request.Request(base + path))
            data["form_token"] = re.search(r'name="form_token" value="([^"]+)"', check).group(1)
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(base + path, data=body, headers={"Referer": base + path})
        measured[f"POST {name}"], status, location, _page = timed(opener, request)
        outcome.append((status, location))
    measured["GET /healthz"], _status, _location, _page = timed(
        opener, urllib.request.Request(base + "/healthz")
    )
    # Every step moves on; Send leads to the confirmation.
    ok = all(status == 302 for status, _location in outcome) and "/received/" in outcome[-1][1]
    with lock:
        for key, seconds in measured.items():
            timings.setdefault(key, []).append(seconds)
        timings.setdefault("ok", []).append(ok)


def describe(values):
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="patients at once (default 8)")
    parser.add_argument("--bookings", type=int, default=25, help="bookings per patient (default 25)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_consultation") as database_url:
        env = server_env(Path(tmp), database_url, cache_prefix="bench-consultation", **NO_RATE_LIMITS)
        lock = threading.Lock()
        with gunicorn(env, workers=2) as base:
            for n in range(5):
                patient(base, -n - 1, {}, lock)
            timings = {}
            total = args.clients * args.bookings
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                list(pool.map(lambda n: patient(base, n, timings, lock), range(total)))
            elapsed = time.perf_counter() - started

    failed = timings["ok"].count(False)
    health = describe(timings["GET /healthz"])[0]
    step_get = describe(timings["GET step"])[0]
    print(f"Booking under load: {args.clients} patients at once, {total} bookings, 2 gunicorn workers")
    print(f"{'':24} {'median':>10} {'p95':>10} {'/ healthz':>10} {'/ step GET':>11}")
    for key in ["GET /healthz", "GET step", *(f"POST {name}" for name, _path in STEPS)]:
        median, p95 = describe(timings[key])
        print(f"{key:24} {median:8.1f}ms {p95:8.1f}ms {median / health:9.1f}x {median / step_get:10.2f}x")
    print(f"bookings sent per second: {total / elapsed:.1f}    bookings that did not reach Send: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
