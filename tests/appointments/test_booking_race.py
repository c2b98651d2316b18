"""PostgreSQL refuses double bookings: two connections, and twenty patients choosing one time at once."""

import datetime
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from appointments.forms.times import time_value
from appointments.models import Appointment, BookingDraft, ConsultationRequest, OutboundEmail
from appointments.services import SlotTaken, Source, appointment_book
from tests.booking import CHECK_URL, WHEN_URL, csrf_token_in, form_token_in, send_data
from tests.factories import booking_answers, make_clinician, make_kind, make_request
from tests.security.conftest import Browser

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.kind(buffer_after_minutes=15),
    pytest.mark.slow,
]

UTC = datetime.UTC
MONDAY = 0
BOOKERS = 20


def utc(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def connect():
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
    )


INSERT = """
    INSERT INTO appointments_appointment
        (consultation_request_id, clinician_id, uid, sequence, status, starts_at, duration_minutes,
         buffer_before_minutes, buffer_after_minutes, blocked, modality, location,
         telehealth_instructions, created_at, updated_at)
    VALUES (%(request)s, %(clinician)s, %(uid)s, 0, %(status)s, %(start)s, 45, 0, 15,
            tstzrange(%(start)s, %(until)s, '[)'), 'telehealth', '', 'link', now(), now())
"""


def insert(conn, *, request, clinician, start, until, uid, status="booked"):
    with conn.cursor() as cursor:
        cursor.execute(
            INSERT,
            {
                "request": request.pk,
                "clinician": clinician.pk,
                "uid": uid,
                "status": status,
                "start": start,
                "until": until,
            },
        )


def test_overlapping_rows_from_two_connections_fail_with_exclusion_violation(clinician):
    first, second = connect(), connect()
    try:
        # The first connection holds its row uncommitted; the second must wait for it, then fail.
        insert(
            first,
            request=make_request(),
            clinician=clinician,
            start=utc("2026-06-01 14:00"),
            until=utc("2026-06-01 15:00"),
            uid="one@clinic.example",
        )
        outcome = {}

        def second_insert():
            try:
                insert(
                    second,
                    request=make_request(),
                    clinician=clinician,
                    start=utc("2026-06-01 14:30"),
                    until=utc("2026-06-01 15:30"),
                    uid="two@clinic.example",
                )
                second.commit()
                outcome["error"] = None
            except psycopg2.Error as error:
                outcome["error"] = error
                second.rollback()

        waiting = threading.Thread(target=second_insert)
        waiting.start()
        waiting.join(timeout=1)
        assert waiting.is_alive(), "the second insert should wait for the first transaction"
        first.commit()
        waiting.join(timeout=30)

        assert outcome["error"] is not None
        assert outcome["error"].pgcode == "23P01"
        assert outcome["error"].diag.constraint_name == "appt_no_overlap_per_clinician"
    finally:
        first.close()
        second.close()
    assert Appointment.objects.count() == 1


def test_back_to_back_rows_another_clinicians_and_cancelled_rows_do_not_conflict(clinician, kind):
    other = make_clinician(kinds=[kind], states=["NY"])
    first, second = connect(), connect()
    try:
        insert(
            first,
            request=make_request(),
            clinician=clinician,
            start=utc("2026-06-01 14:00"),
            until=utc("2026-06-01 15:00"),
            uid="one@clinic.example",
        )
        first.commit()
        # Begins exactly as the first ends: [) ranges do not overlap.
        insert(
            second,
            request=make_request(),
            clinician=clinician,
            start=utc("2026-06-01 15:00"),
            until=utc("2026-06-01 16:00"),
            uid="two@clinic.example",
        )
        insert(
            second,
            request=make_request(),
            clinician=other,
            start=utc("2026-06-01 14:00"),
            until=utc("2026-06-01 15:00"),
            uid="three@clinic.example",
        )
        insert(
            second,
            request=make_request(),
            clinician=clinician,
            start=utc("2026-06-01 14:00"),
            until=utc("2026-06-01 15:00"),
            uid="four@clinic.example",
            status="cancelled",
        )
        second.commit()
    finally:
        first.close()
        second.close()
    assert Appointment.objects.count() == 4


def test_twenty_patients_choosing_one_time_at_once_make_exactly_one_booking(clinician, kind):
    requests = [make_request(state="NY", email=f"patient{n}@example.com") for n in range(BOOKERS)]
    now = utc("2026-05-01 12:00")
    barrier = threading.Barrier(BOOKERS)

    def book(consultation_request):
        try:
            barrier.wait(timeout=30)
            appointment_book(
                consultation_request=consultation_request,
                clinician=clinician,
                kind=kind,
                starts_at=utc("2026-06-01 14:00"),
                modality=Appointment.Modality.TELEHEALTH,
                source=Source.PATIENT,
                now=now,
            )
            return "booked", []
        except SlotTaken as taken:
            return str(taken.messages[0]), [slot.starts_at for slot in taken.nearest]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=BOOKERS) as pool:
        outcomes = list(pool.map(book, requests))

    assert [result for result, _nearest in outcomes].count("booked") == 1
    refused = [(result, nearest) for result, nearest in outcomes if result != "booked"]
    assert len(refused) == BOOKERS - 1
    assert all("That time has just been taken" in result for result, _nearest in refused)
    # Monday 1 June, 09:00-13:00 New York hourly, 10:00 taken: 09:00, 11:00 and 12:00 are nearest.
    expected = [utc("2026-06-01 13:00"), utc("2026-06-01 15:00"), utc("2026-06-01 16:00")]
    assert all(nearest == expected for _result, nearest in refused)
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1
    # Only the winner's invitation was queued; the others' transactions left nothing behind.
    assert OutboundEmail.objects.count() == 1


def test_twenty_patients_sending_the_same_chosen_time_at_once_make_exactly_one_booking(live_server, settings):
    """Twenty browsers walk the booking on the live server, choose the same time, and press Send
    together: one booking; the others are back on the times with the nearest ones, answers kept."""
    settings.TIME_ZONE = "America/New_York"
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_EMAIL_RATE_LIMIT = settings.CONSULTATION_PHONE_RATE_LIMIT = "1000/m"
    settings.BOOKING_CEILING_PER_HOUR = settings.BOOKING_CEILING_PER_DAY = 1000
    kind = make_kind(
        duration_minutes=45, interval_minutes=60, minimum_notice_minutes=2 * 24 * 60, horizon_days=30
    )
    make_clinician(kinds=[kind], states=["NY"], hours=[(day, "09:00", "13:00") for day in range(7)])
    zone = timezone.get_default_timezone()
    day = (timezone.now() + datetime.timedelta(days=3)).astimezone(zone).date()
    chosen = datetime.datetime.combine(day, datetime.time(10), tzinfo=zone)
    expected_nearest = [
        time_value(datetime.datetime.combine(day, datetime.time(hour), tzinfo=zone)) for hour in (9, 11, 12)
    ]
    barrier = threading.Barrier(BOOKERS)
    base = live_server.url

    def patient(number):
        browser = Browser()
        data = booking_answers(last_name=f"Patient-{number}", email=f"patient{number}@example.com")
        status, headers, _page = browser.walk(base, data)
        assert status == 302 and headers["Location"] == WHEN_URL, status
        _status, _headers, page = browser.request(base + WHEN_URL)
        status, _headers, _page = browser.request(
            base + WHEN_URL,
            data={"csrfmiddlewaretoken": csrf_token_in(page), "time": time_value(chosen)},
            headers={"Referer": base + WHEN_URL},
        )
        assert status == 302, status
        _status, _headers, page = browser.request(base + CHECK_URL)
        send = {
            **send_data(data),
            "csrfmiddlewaretoken": csrf_token_in(page),
            "form_token": form_token_in(page),
        }
        barrier.wait(timeout=60)
        status, headers, page = browser.request(
            base + CHECK_URL, data=send, headers={"Referer": base + CHECK_URL}
        )
        return status, headers.get("Location", ""), re.findall(r'name="time" value="([^"]+)"', page)

    with ThreadPoolExecutor(max_workers=BOOKERS) as pool:
        outcomes = list(pool.map(patient, range(BOOKERS)))

    booked = [outcome for outcome in outcomes if outcome[0] == 302]
    assert len(booked) == 1
    assert booked[0][1].startswith("/consultation/received/")
    refused = [outcome for outcome in outcomes if outcome[0] != 302]
    assert len(refused) == BOOKERS - 1
    assert all(status == 409 for status, _location, _times in refused)
    assert all(times == [*expected_nearest, "call-me"] for _status, _location, times in refused)
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1
    assert Appointment.objects.get().starts_at == chosen
    assert ConsultationRequest.objects.count() == 1
    # Nothing half-saved: the others' drafts are all there, with their answers, and no time.
    drafts = BookingDraft.objects.all()
    assert len(drafts) == BOOKERS - 1
    winner = ConsultationRequest.objects.get().last_name
    assert {draft.step_answers("contact")["last_name"] for draft in drafts} == {
        f"Patient-{number}" for number in range(BOOKERS)
    } - {winner}
    assert all(draft.chosen_starts_at is None for draft in drafts)
    # The winner's acknowledgement, staff alert and invitation; nothing from the others.
    assert OutboundEmail.objects.count() == 3
