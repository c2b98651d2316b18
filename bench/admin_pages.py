"""How the staff workspace holds up with 50,000 consultation requests.

    .venv/bin/python bench/admin_pages.py [--requests 50000] [--rounds 40]

Seeds a scratch database with the requests (bulk inserts: two years of them, some urgent,
most closed, with flags), serves the site as production does (gunicorn, two workers, DEBUG
off, collected static files) and, as a clinician whose session is written straight into the
database, times the request list, two searches of it (a common surname, a reference), the open
requests and one request's page, each against the admin's index page (the dashboard included)
measured in the same run.
Requests go one at a time, in turn, so every page sees the same machine. Prints the median and
95th percentile of each, and each page's median as a multiple of the index page's.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from tests.servers import PYTHON, SECRET_KEY, collectstatic, gunicorn, production_env  # noqa: E402

TEMPLATES = 2000
# Two years of requests, newer ones likelier (the clinic is growing).
RECEIVED_SQL = "now() - random() ^ 1.5 * interval '730 days'"
REFERENCE_SPACE = 31**8


def _reference_sql(number):
    """SQL for a valid, unique reference made from an integer (a bijection of 0..31^8)."""
    from appointments.models import REFERENCE_ALPHABET

    # "%%" is the modulo operator in a statement run with parameters.
    mixed = f"(({number})::bigint * 1000003 %% {REFERENCE_SPACE})"
    chars = [f"substr('{REFERENCE_ALPHABET}', 1 + ({mixed} / {31**i} %% 31)::int, 1)" for i in range(8)]
    return "'KC-' || " + " || ".join(chars[:4]) + " || '-' || " + " || ".join(chars[4:])


def _copies_sql():
    from appointments.models import ConsultationRequest

    generated = {"reference", "confirmation_token", "form_token", "created_at", "updated_at"}
    columns = [
        field.column
        for field in ConsultationRequest._meta.concrete_fields
        if not field.primary_key and not field.generated and field.name not in generated
    ]
    names = ", ".join(f'"{column}"' for column in columns)
    copied = ", ".join(f't."{column}"' for column in columns)
    # Built from the model's own column names; the numbers are parameters.
    return f"""
        WITH t AS (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k FROM appointments_consultationrequest)
        INSERT INTO appointments_consultationrequest
            ({names}, reference, confirmation_token, form_token, created_at, updated_at)
        SELECT {copied}, {_reference_sql("1000000 + g.n")},
               md5('confirm' || g.n || random()) || md5(random()::text),
               md5('form' || g.n || random()) || md5(random()::text),
               {RECEIVED_SQL}, now()
        FROM generate_series(1, %(count)s) AS g(n) JOIN t ON t.k = g.n %% %(templates)s
    """  # noqa: S608


def seed(count):
    """Runs inside the scratch database's environment: fill it, make a clinician's session."""
    import random

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    from appointments.models import ConsultationRequest
    from appointments.services import consultation_request_set_status, staff_note_create
    from tests.factories import make_staff, request_fields

    rng = random.Random(5)
    statuses = ["completed"] * 40 + ["declined"] * 15 + ["cancelled_by_patient"] * 10 + ["spam"] * 5
    statuses += ["contacted"] * 10 + ["scheduled"] * 5 + ["new"] * 15
    flag_sets = [[], [], [], ["cardiovascular"], ["mania"], ["psychosis", "substance_use"], ["phq9_severe"]]
    started = time.perf_counter()
    # A few thousand varied requests through the ORM, then copies of them made by PostgreSQL
    # with references and tokens of their own: a minute's work becomes a few seconds'.
    templates = []
    for number in range(min(TEMPLATES, count)):
        urgent = rng.random() < 0.04
        templates.append(
            ConsultationRequest(
                **request_fields(
                    number,
                    status=rng.choice(statuses),
                    is_urgent=urgent,
                    self_harm_thoughts=urgent,
                    flags=(["self_harm"] if urgent else []) + rng.choice(flag_sets),
                    current_medications=rng.choice(["", "", "lithium 600 mg", "lamotrigine 200 mg"]),
                )
            )
        )
    ConsultationRequest.objects.bulk_create(templates)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5)")
        cursor.execute(f"UPDATE appointments_consultationrequest SET created_at = {RECEIVED_SQL}")  # noqa: S608
        cursor.execute(_copies_sql(), {"count": count - len(templates), "templates": len(templates)})
        cursor.execute("ANALYZE appointments_consultationrequest")
    seeded = time.perf_counter() - started

    clinician = make_staff("clinician", username="bench-clinician", first_name="Bench", last_name="Clinician")
    device = StaticDevice.objects.create(user=clinician, name="backup", confirmed=True)
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(clinician.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: clinician.get_session_auth_hash(),
            DEVICE_ID_SESSION_KEY: device.persistent_id,
        }
    )
    session.create()

    # The page timed: a request with a thread of notes and some history, like a worked one.
    page = ConsultationRequest.objects.filter(status="new").order_by("-created_at").first()
    for number in range(8):
        staff_note_create(
            consultation_request=page, author=clinician, text=f"Note {number}: called, left a message."
        )
    for status in ["contacted", "declined"]:
        consultation_request_set_status(consultation_request=page, status=status, by=clinician)
    facts = {"session": session.session_key, "request": page.pk, "reference": page.reference}
    print(json.dumps({**facts, "seconds": round(seeded, 1)}))


def fetch(url, session):
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        status = response.status
    elapsed = time.perf_counter() - start
    if status != 200 or b"Log in" in body[:2000]:
        raise RuntimeError(f"{url} answered {status}")
    return elapsed


def describe(values):
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000, help="requests to seed (default 50,000)")
    parser.add_argument("--rounds", type=int, default=40, help="times each page is fetched (default 40)")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed)
        return 0

    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_admin") as database_url:
        env = production_env(
            SECRET_KEY=SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            STATIC_ROOT=str(Path(tmp) / "static"),
            # Plain HTTP on loopback: TLS belongs to the load balancer in front of production.
            SECURE_SSL_REDIRECT="false",
            SECURE_COOKIES="false",
            CACHE_KEY_PREFIX="bench-admin",
            LOG_LEVEL="WARNING",
        )
        subprocess.run(
            [PYTHON, "manage.py", "create_staff_groups"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seeded = subprocess.run(
            [PYTHON, os.path.relpath(__file__, ROOT), "--seed", str(args.requests)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        facts = json.loads(seeded.stdout.strip().splitlines()[-1])
        collectstatic(env, Path(tmp) / "static")
        admin = "/admin/appointments/consultationrequest/"
        pages = {
            "index (baseline)": "/admin/",
            "request list": admin,
            "list, open requests": admin + "?status=open",
            # A surname the seed gives one request in nine, and a reference only one request has
            # (what a patient gives on the phone).
            "list, search a name": admin + "?q=Okonkwo",
            "list, search a reference": admin + f"?q={facts['reference']}",
            "one request's page": f"{admin}{facts['request']}/change/",
        }
        timings = {name: [] for name in pages}
        with gunicorn(env, workers=2) as base:
            for _warm_up in range(3):
                for path in pages.values():
                    fetch(base + path, facts["session"])
            for _round in range(args.rounds):
                for name, path in pages.items():
                    timings[name].append(fetch(base + path, facts["session"]))

    baseline, _ = describe(timings["index (baseline)"])
    print(
        f"Staff workspace with {args.requests:,} requests (seeded in {facts['seconds']}s), "
        f"{args.rounds} rounds, gunicorn with 2 workers, one request at a time"
    )
    print(f"{'':24} {'median':>10} {'p95':>10} {'÷ index':>9}")
    for name in pages:
        median, p95 = describe(timings[name])
        print(f"{name:24} {median:8.1f}ms {p95:8.1f}ms {median / baseline:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
