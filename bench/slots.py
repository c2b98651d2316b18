"""How fast open times are computed: 10 clinicians, 60 days, 2,000 booked appointments.

    .venv/bin/python bench/slots.py [--appointments 2000] [--rounds 40]

Seeds a scratch database with one 45-minute kind (15 minutes' buffer after, 24 hours' notice,
60 days ahead), ten clinicians working 09:00-12:00 and 13:00-17:00 on weekdays (two with a day
off each week, one with a Saturday clinic), and the booked appointments spread over their
hours. Serves the site as production does (gunicorn, two workers, DEBUG off) with the bench
pages beside it, and times, one request at a time and in turn, the baseline page (a template
after one query), a week of open times as the bench's own page shows them, the whole 60-day
horizon, the booking's real times page (``/consultation/when/``, with a draft) and the step
before it (``/consultation/visit/``, the same draft and frame, no open times). Prints the
median and 95th percentile of each, each median as a multiple of the baseline's and of the
visit step's, and the bound: the times page within 2x the visit step in the same run.
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

CLINICIANS = 10
HORIZON_DAYS = 60
# The bound (issue 26): the booking's times page within this multiple of its visit step's.
BOUND = 2.0


def seed(count):
    """Runs inside the scratch database's environment: the kind, the clinicians, the bookings."""
    import datetime
    import random

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from appointments.models import (
        Appointment,
        AvailabilityException,
        Clinician,
        ConsultationKind,
        ConsultationRequest,
        WeeklyHours,
    )
    from appointments.slots import local_instant
    from bench.urls import BENCH_KIND
    from tests.factories import request_fields

    rng = random.Random(15)
    started = time.perf_counter()
    kind = ConsultationKind.objects.create(
        slug=BENCH_KIND,
        name="First consultation",
        duration_minutes=45,
        buffer_after_minutes=15,
        interval_minutes=15,
        minimum_notice_minutes=24 * 60,
        horizon_days=HORIZON_DAYS,
    )
    users = get_user_model().objects
    clinicians = []
    for number in range(CLINICIANS):
        user = users.create(username=f"bench-clinician-{number}", is_staff=True)
        clinician = Clinician.objects.create(
            user=user, display_name=f"Clinician {number}", licensed_states=["NY", "NJ"]
        )
        clinician.kinds.set([kind])
        hours = [(day, "09:00", "12:00") for day in range(5)] + [(day, "13:00", "17:00") for day in range(5)]
        if number == 0:
            hours.append((5, "09:00", "13:00"))
        WeeklyHours.objects.bulk_create(
            WeeklyHours(
                clinician=clinician,
                weekday=day,
                starts=datetime.time.fromisoformat(a),
                ends=datetime.time.fromisoformat(b),
            )
            for day, a, b in hours
        )
        clinicians.append(clinician)
    today = timezone.localdate()
    for clinician in clinicians[:2]:
        AvailabilityException.objects.bulk_create(
            AvailabilityException(clinician=clinician, date=today + datetime.timedelta(days=7 * week + 2))
            for week in range(HORIZON_DAYS // 7)
        )

    # Every hour-long block (45 minutes and the buffer) of every working day, shuffled; the
    # first ``count`` are booked.
    blocks = []
    for offset in range(1, HORIZON_DAYS + 1):
        day = today + datetime.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for clinician in clinicians:
            for hour in (9, 10, 11, 13, 14, 15, 16):
                blocks.append((clinician, local_instant(day, datetime.time(hour))))
    rng.shuffle(blocks)
    chosen = blocks[:count]
    requests = ConsultationRequest.objects.bulk_create(
        ConsultationRequest(**request_fields(number, status="scheduled")) for number in range(len(chosen))
    )
    appointments = []
    for (clinician, starts_at), consultation_request in zip(chosen, requests, strict=True):
        appointment = Appointment(
            consultation_request=consultation_request,
            clinician=clinician,
            kind=kind,
            starts_at=starts_at,
            duration_minutes=45,
            buffer_after_minutes=15,
            modality=Appointment.Modality.TELEHEALTH,
            telehealth_instructions="Video link by e-mail.",
        )
        # bulk_create skips save(), which derives the range the constraint compares.
        appointment.blocked = appointment.blocked_range()
        appointments.append(appointment)
    Appointment.objects.bulk_create(appointments, batch_size=500)
    # A patient at the booking's times page: every step before it done, by video, from New York.
    from django.core import signing

    from appointments.models import BookingDraft
    from appointments.views.booking import DRAFT_COOKIE, DRAFT_COOKIE_SALT

    draft = BookingDraft.objects.create(
        answers={
            "contact": {"first_name": "Bench", "last_name": "Patient", "email": "bench@example.com"},
            "safety": {"self_harm_thoughts": False},
            "eligibility": {"state": "NY", "is_adult": True},
            "visit": {"modality": "telehealth"},
        }
    )
    cookie = signing.get_cookie_signer(salt=DRAFT_COOKIE + DRAFT_COOKIE_SALT).sign(draft.token)
    print(
        json.dumps(
            {
                "appointments": len(appointments),
                "seconds": round(time.perf_counter() - started, 1),
                "draft_cookie": f"{DRAFT_COOKIE}={cookie}",
            }
        )
    )


def fetch(url, cookie=""):
    start = time.perf_counter()
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        status = response.status
    elapsed = time.perf_counter() - start
    if status != 200:
        raise RuntimeError(f"{url} answered {status}")
    return elapsed, body


def describe(values):
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=2000, help="booked appointments (default 2,000)")
    parser.add_argument("--rounds", type=int, default=40, help="times each page is fetched (default 40)")
    parser.add_argument("--port", type=int, help="the server's loopback port (default: a free one)")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed)
        return 0

    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_slots") as database_url:
        env = production_env(
            SECRET_KEY=SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE="bench.settings",
            STATIC_ROOT=str(Path(tmp) / "static"),
            SECURE_SSL_REDIRECT="false",
            SECURE_COOKIES="false",
            CACHE_KEY_PREFIX="bench-slots",
            LOG_LEVEL="WARNING",
        )
        seeded = subprocess.run(
            [PYTHON, os.path.relpath(__file__, ROOT), "--seed", str(args.appointments)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        facts = json.loads(seeded.stdout.strip().splitlines()[-1])
        collectstatic(env, Path(tmp) / "static")
        pages = {
            "baseline page": "/bench/baseline/",
            "open times, first week": "/bench/slots/week/",
            "open times, 60 days": "/bench/slots/horizon/",
            # The booking's own page of times, as a patient with a draft gets it.
            "booking's times page": "/consultation/when/",
            # The step before it, for scale: the same frame and draft, no open times.
            "booking's visit step": "/consultation/visit/",
        }
        timings = {name: [] for name in pages}
        counts = {}
        with gunicorn(env, workers=2, port=args.port) as base:
            for _warm_up in range(3):
                for name, path in pages.items():
                    _elapsed, body = fetch(base + path, facts["draft_cookie"])
                    counts[name] = body.count(b'type="radio"')
            for _round in range(args.rounds):
                for name, path in pages.items():
                    timings[name].append(fetch(base + path, facts["draft_cookie"])[0])

    baseline, _ = describe(timings["baseline page"])
    visit, _ = describe(timings["booking's visit step"])
    print(
        f"Open times for {CLINICIANS} clinicians over {HORIZON_DAYS} days with {facts['appointments']:,} booked "
        f"appointments (seeded in {facts['seconds']}s), {args.rounds} rounds, gunicorn with 2 workers, "
        "one request at a time"
    )
    print(f"{'':26} {'median':>10} {'p95':>10} {'÷ baseline':>11} {'÷ visit':>8} {'open times':>11}")
    for name in pages:
        median, p95 = describe(timings[name])
        shown = counts[name] if name != "baseline page" else ""
        print(
            f"{name:26} {median:8.1f}ms {p95:8.1f}ms {median / baseline:10.2f}x {median / visit:7.2f}x {shown:>11}"
        )
    ratio = describe(timings["booking's times page"])[0] / visit
    verdict = "met" if ratio <= BOUND else "MISSED"
    print(
        f"Bound: the booking's times page at {ratio:.2f}x the visit step's median (at most {BOUND:.0f}x): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
