"""Abuse of the booking, closed: abandoned "yes" drafts cannot flood the urgent channel (issue 25,
finding 4), and open times cannot be hoarded nor the clinic's e-mails sent to any address with an
attacker's words (finding 5). Every limit lets requests through when it cannot count."""

import datetime
import time
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone

from appointments.forms.times import time_value
from appointments.models import Appointment, BookingDraft, ConsultationRequest, OutboundEmail
from appointments.services.drafts import booking_drafts_escalate_urgent
from tests.booking import CHECK_URL, WHEN_URL, send_data, walk
from tests.factories import booking_answers, make_clinician, make_kind
from tests.servers import free_port

pytestmark = pytest.mark.django_db

HOUR = 3600
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
STAFF = "frontdesk@clinic.example"


@pytest.fixture
def clock(time_machine):
    """Both clocks at once, the database's timestamps and the rate limits' windows: ``clock(t)``
    puts now at the Unix time ``t``; ``clock.hour`` is the start of a clock hour an hour ahead, so
    that what a test counts never straddles a window's edge by chance."""

    def move(moment):
        time_machine.move_to(moment, tick=False)

    move.hour = (int(time.time()) // HOUR + 2) * HOUR
    return move


def contact(number, **overrides):
    """Answers of a patient of their own: their own e-mail address and phone number."""
    return booking_answers(
        **{"email": f"patient{number}@example.com", "phone": f"(212) 555-01{number:02d}", **overrides}
    )


def abandon_urgent_draft(data, address="192.0.2.10"):
    """A new browser answers yes to the safety question and leaves: its draft stays."""
    response = walk(Client(), data, stop_after="safety", REMOTE_ADDR=address)
    assert response["Location"] == "/consultation/help/"


def unsent_drafts():
    """The urgent drafts not yet brought to staff."""
    return BookingDraft.objects.filter(reports_self_harm=True, consultation_request__isnull=True).count()


def staff_alerts():
    return OutboundEmail.objects.filter(dedupe_key__endswith=":staff-alert").count()


def summaries():
    return list(OutboundEmail.objects.filter(dedupe_key__startswith="unfinished-summary:"))


# Finding 4: abandoned "yes" drafts


def test_twelve_urgent_drafts_from_one_address_reach_staff_at_the_strict_limit_and_none_is_dropped(
    client, clock, settings
):
    """The review's case: 12 drafts from one address made 12 urgent requests and 12 alerts at once,
    where Send allows 5. Now they count in Send's own limit (5 in each ten minutes), a run at a
    time; the others wait as drafts and come later."""
    assert settings.CONSULTATION_RATE_LIMIT == "5/10m"
    start = clock.hour - 40 * 60
    clock(start)
    for number in range(12):
        abandon_urgent_draft(contact(number, self_harm_thoughts="yes"))
    assert BookingDraft.objects.count() == 12

    clock(clock.hour)  # 40 minutes later: every draft is past its 30.
    assert len(booking_drafts_escalate_urgent()) == 5
    assert (ConsultationRequest.objects.filter(is_unfinished=True).count(), unsent_drafts()) == (5, 7)
    assert staff_alerts() == 5
    # The same limit as Send's: this address cannot send a sixth request in this window either.
    response = walk(Client(), contact(50), REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 429
    # A second run in the same ten minutes brings none: the seven wait.
    assert booking_drafts_escalate_urgent() == []
    assert unsent_drafts() == 7

    clock(clock.hour + 10 * 60)  # The next window: five more.
    assert len(booking_drafts_escalate_urgent()) == 5
    clock(clock.hour + 20 * 60)  # And the last two.
    assert len(booking_drafts_escalate_urgent()) == 2
    assert (ConsultationRequest.objects.filter(is_unfinished=True).count(), unsent_drafts()) == (12, 0)
    # Ten alerts one by one in the hour (URGENT_DRAFT_ALERT_LIMIT), then one summary for the other two.
    assert staff_alerts() == 10
    assert len(summaries()) == 1
    assert BookingDraft.objects.filter(reports_self_harm=True).count() == 12  # Not one deleted.


def test_a_draft_held_back_by_its_clients_limit_comes_in_its_last_hour_whatever_the_count(clock, settings):
    settings.CONSULTATION_RATE_LIMIT = "1/10m"
    started = clock.hour - 40 * 60
    clock(started)
    abandon_urgent_draft(contact(1, self_harm_thoughts="yes"))
    abandon_urgent_draft(contact(2, self_harm_thoughts="yes"))
    clock(clock.hour)
    assert len(booking_drafts_escalate_urgent()) == 1
    clock(clock.hour + 5 * 60)
    assert booking_drafts_escalate_urgent() == []  # Held back by the address's limit.
    # In the draft's last hour the address has spent its limit again (a request sent from there),
    # yet the draft comes: it is never deleted unseen.
    last_hour = started + 23 * HOUR + 30 * 60
    clock(last_hour)
    assert walk(Client(), contact(3), REMOTE_ADDR="192.0.2.10").status_code == 302
    (late,) = booking_drafts_escalate_urgent()
    assert late.email == "patient2@example.com"
    assert unsent_drafts() == 0


def test_urgent_drafts_with_one_patients_contact_details_alert_staff_once(clock):
    """Twelve drafts with the same e-mail address and phone number, from twelve addresses: one
    urgent request and one alert; the others wait, and the next comes if that request is closed."""
    clock(clock.hour - 40 * 60)
    for number in range(12):
        abandon_urgent_draft(contact(1, self_harm_thoughts="yes"), f"192.0.2.{number}")
    clock(clock.hour)
    (first,) = booking_drafts_escalate_urgent()
    assert (unsent_drafts(), staff_alerts()) == (11, 1)
    clock(clock.hour + 30 * 60)
    assert booking_drafts_escalate_urgent() == []  # Still with staff: the others still wait.

    # Staff close it (the patient was reached and declined): the next of those drafts comes.
    ConsultationRequest.objects.filter(pk=first.pk).update(status=ConsultationRequest.Status.DECLINED)
    (second,) = booking_drafts_escalate_urgent()
    assert second.email == first.email
    assert (unsent_drafts(), staff_alerts()) == (10, 2)


def test_a_draft_waits_when_its_email_or_its_phone_is_that_of_an_open_urgent_request(clock):
    from tests.factories import make_request

    make_request(email="Known@Example.com", phone="+12125550142", is_urgent=True)
    make_request(email="routine@example.com", is_urgent=False)
    make_request(email="closed@example.com", is_urgent=True, status=ConsultationRequest.Status.DECLINED)
    clock(clock.hour - 40 * 60)
    drafts = {
        "same e-mail, in other letters": contact(1, email="known@example.com"),
        "same phone number": contact(2, phone="212-555-0142"),
        "a routine request's e-mail": contact(3, email="routine@example.com"),
        "a closed request's e-mail": contact(4, email="closed@example.com"),
    }
    for number, data in enumerate(drafts.values()):
        abandon_urgent_draft({**data, "self_harm_thoughts": "yes"}, f"192.0.2.{number}")
    clock(clock.hour)
    came = sorted(request.email for request in booking_drafts_escalate_urgent())
    assert came == ["closed@example.com", "routine@example.com"]
    assert unsent_drafts() == 2


def test_past_the_alert_limit_unfinished_requests_still_come_with_one_summary_a_period(clock):
    """Thirteen urgent drafts from thirteen addresses: thirteen requests in the workspace, ten
    e-mails one by one (10 an hour) and one summary; a later one that hour adds no e-mail."""
    hour = clock.hour
    clock(hour - 40 * 60)
    for number in range(13):
        abandon_urgent_draft(contact(number, self_harm_thoughts="yes"), f"198.51.100.{number}")
    clock(hour)
    assert len(booking_drafts_escalate_urgent()) == 13
    assert ConsultationRequest.objects.filter(is_unfinished=True, is_urgent=True).count() == 13
    assert staff_alerts() == 10
    (summary,) = summaries()
    assert summary.to == STAFF
    assert summary.subject == "3 more unfinished urgent requests are waiting"
    assert summary.body.startswith("3 more unfinished urgent requests are waiting: open the workspace.")
    assert "/admin/appointments/consultationrequest/?is_unfinished__exact=1\n" in summary.body
    # Health-free: no name, no contact detail, no answer.
    for request in ConsultationRequest.objects.all():
        for detail in (request.first_name, request.last_name, request.email, request.phone):
            assert detail not in summary.body
    assert "harm" not in summary.body

    # Later in the same hour: in the workspace, without an e-mail of its own or a second summary.
    clock(hour + 10 * 60)
    abandon_urgent_draft(contact(40, self_harm_thoughts="yes"), "198.51.100.40")
    clock(hour + 45 * 60)
    assert len(booking_drafts_escalate_urgent()) == 1
    assert (staff_alerts(), len(summaries())) == (10, 1)

    # The next hour, e-mails one by one again.
    clock(hour + 50 * 60)
    abandon_urgent_draft(contact(41, self_harm_thoughts="yes"), "198.51.100.41")
    clock(hour + HOUR + 25 * 60)
    assert len(booking_drafts_escalate_urgent()) == 1
    assert (staff_alerts(), len(summaries())) == (11, 1)


def test_with_redis_down_urgent_drafts_come_each_with_its_alert_as_before(clock, settings):
    clock(clock.hour - 40 * 60)
    for number in range(7):
        abandon_urgent_draft(contact(number, self_harm_thoughts="yes"))
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5, "retry_after": 60},
        }
    }
    clock(clock.hour)
    assert len(booking_drafts_escalate_urgent()) == 7
    assert staff_alerts() == 7


def test_a_patient_who_sends_after_a_summary_completes_their_request_and_staff_hear_of_it(clock, settings):
    settings.URGENT_DRAFT_ALERT_LIMIT = "0/h"
    browser = Client()
    data = contact(1, self_harm_thoughts="yes")
    clock(clock.hour - 40 * 60)
    walk(browser, data, stop_after="safety")
    clock(clock.hour)
    (unfinished,) = booking_drafts_escalate_urgent()
    assert (staff_alerts(), len(summaries())) == (0, 1)
    assert walk(browser, data).status_code == 302
    unfinished.refresh_from_db()
    assert not unfinished.is_unfinished
    # Sent now: its own alert, as for any new urgent request, and the patient's acknowledgement.
    assert staff_alerts() == 1
    assert OutboundEmail.objects.filter(to="patient1@example.com").count() == 1


# Finding 5: hoarded times, and the clinic's mail to any address


@pytest.fixture
def open_times(settings):
    """A clinician with open times every day, 9:00 to 13:00 New York time, from two days ahead."""
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(
        duration_minutes=45, interval_minutes=60, minimum_notice_minutes=2 * 24 * 60, horizon_days=30
    )
    make_clinician(kinds=[kind], states=["NY"], hours=[(day, "09:00", "13:00") for day in range(7)])
    day = (timezone.now() + datetime.timedelta(days=3)).astimezone(NEW_YORK).date()

    def at(hour, days=0):
        return datetime.datetime.combine(
            day + datetime.timedelta(days=days), datetime.time(hour), tzinfo=NEW_YORK
        )

    return at


def choose(data, starts_at, address):
    """A new browser walks the booking and chooses ``starts_at``; it is on the check page."""
    browser = Client(REMOTE_ADDR=address)
    assert walk(browser, data, stop_after="visit")["Location"] == WHEN_URL
    assert browser.post(WHEN_URL, {"time": time_value(starts_at)})["Location"] == CHECK_URL
    return browser


def book(data, starts_at, address):
    """A new browser walks the booking, chooses ``starts_at`` and sends: (Send's response, the browser)."""
    browser = choose(data, starts_at, address)
    return browser.post(CHECK_URL, send_data(data)), browser


def ceiling_alerts():
    return list(OutboundEmail.objects.filter(dedupe_key__startswith="booking-ceiling:"))


@pytest.mark.parametrize("ceiling", ["BOOKING_CEILING_PER_HOUR", "BOOKING_CEILING_PER_DAY"])
def test_past_the_clinics_booking_ceiling_the_patient_is_asked_to_call_and_nothing_is_booked(
    open_times, settings, ceiling
):
    setattr(settings, ceiling, 2)
    for number, hour in ((1, 9), (2, 10)):
        response, _browser = book(contact(number), open_times(hour), f"203.0.113.{number}")
        assert response.status_code == 302
    assert Appointment.objects.count() == 2

    response, browser = book(contact(3), open_times(11), "203.0.113.3")
    assert response.status_code == 429
    html = response.content.decode()
    assert "We cannot book a time online just now" in html
    assert 'Please call us at <a href="tel:+15550100100">(555) 010-0100</a>' in html
    assert "send your request below without a time and we will call you" in html
    assert "Your answers are kept." in html
    # Nothing saved; the answers kept; the time let go (the check page now says "call me").
    assert (ConsultationRequest.objects.count(), Appointment.objects.count()) == (2, 2)
    draft = BookingDraft.objects.get(answers__contact__email="patient3@example.com")
    assert draft.answers["contact"]["first_name"] == "Maria" and draft.chosen_starts_at is None
    # One staff alert, health-free; a fourth patient past the ceiling adds none.
    (alert,) = ceiling_alerts()
    assert alert.to == STAFF
    assert alert.subject == "Online booking of consultation times has reached its limit"
    assert "limit of 2 a" in alert.body and "Maria" not in alert.body
    assert book(contact(4), open_times(12), "203.0.113.4")[0].status_code == 429
    assert len(ceiling_alerts()) == 1

    # The patient sends as it is: a request without a time, which the clinic calls about.
    response = browser.post(CHECK_URL, send_data(contact(3)))
    assert response.status_code == 302
    sent = ConsultationRequest.objects.get(email="patient3@example.com")
    assert (sent.status, sent.appointments.count()) == ("new", 0)


def test_a_time_that_was_taken_does_not_use_up_the_ceiling(open_times, settings):
    settings.BOOKING_CEILING_PER_HOUR = 2
    late = choose(contact(2), open_times(9), "203.0.113.2")
    assert book(contact(1), open_times(9), "203.0.113.1")[0].status_code == 302
    assert late.post(CHECK_URL, send_data(contact(2))).status_code == 409  # Taken meanwhile: nothing booked.
    assert book(contact(3), open_times(10), "203.0.113.3")[0].status_code == 302
    assert book(contact(4), open_times(11), "203.0.113.4")[0].status_code == 429
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "values"),
    [
        # One mailbox however it is spelt: case, a "+tag", Gmail's dots.
        (
            "email",
            ["maria@gmail.com", "Maria@Gmail.com", "m.a.r.i.a+clinic@gmail.com", "maria+x@googlemail.com"],
        ),
        ("phone", ["(212) 555-0142", "212-555-0142", "+1 212 555 0142", "2125550142"]),
    ],
)
def test_an_email_address_or_phone_number_sends_three_requests_a_day_then_the_patient_is_asked_to_call(
    field, values
):
    for number, value in enumerate(values[:3]):
        data = contact(number, **{field: value})
        assert walk(Client(), data, REMOTE_ADDR=f"203.0.113.{number}").status_code == 302
    browser = Client()
    response = walk(browser, contact(9, **{field: values[3]}), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Please call us to send this request" in html
    assert "several requests with this e-mail address or phone number today" in html
    assert 'href="tel:+15550100100"' in html
    assert ConsultationRequest.objects.count() == 3
    assert BookingDraft.objects.count() == 1  # The answers are kept.
    # Another address and number from the same place goes through.
    assert walk(Client(), contact(20), REMOTE_ADDR="203.0.113.9").status_code == 302


def test_with_redis_down_the_booking_limits_let_every_request_through(open_times, settings):
    settings.BOOKING_CEILING_PER_HOUR = settings.BOOKING_CEILING_PER_DAY = 1
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5, "retry_after": 60},
        }
    }
    # Six bookings of one patient's contact details from one address: past every limit.
    for number, (hour, days) in enumerate([(9, 0), (10, 0), (11, 0), (12, 0), (9, 1), (10, 1)]):
        response, _browser = book(contact(1), open_times(hour, days), "203.0.113.1")
        assert response.status_code == 302, number
    assert (ConsultationRequest.objects.count(), Appointment.objects.count()) == (6, 6)
    assert ceiling_alerts() == []


def test_one_ipv6_48_sends_at_most_four_times_one_clients_limit(settings):
    """The review's 12 bookings in 3 s from one /48, each from a /64 of its own."""
    settings.CONSULTATION_RATE_LIMIT = "2/10m"
    assert settings.RATE_LIMIT_IPV6_48_MULTIPLIER == 4
    statuses = [
        walk(Client(), contact(number), REMOTE_ADDR=f"2001:db8:aa:{number:x}::1").status_code
        for number in range(12)
    ]
    assert statuses == [302] * 8 + [429] * 4
    # Another /48 is another client.
    assert walk(Client(), contact(30), REMOTE_ADDR="2001:db8:ab:1::1").status_code == 302


# Names that would turn the clinic's e-mails into someone's advert ("Dear Call 1-900-555-0100 or evil.com,")

NAME_MESSAGE = "Enter your name without a phone number or web address."


@pytest.mark.parametrize(
    "name",
    [
        "Call 1-900-555-0100",
        "evil.com",
        "http://x.y",
        "Call 1-900-555-0100 or evil.com",
        "Maria www.example",
        "EVIL.COM",
        "evil\u3002com",  # An ideographic full stop, which browsers read as a dot.
        "\uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d",  # Full-width letters and dot.
        "Call \uff11\uff19\uff10\uff10",  # Full-width digits.
        "maria@evil.example",
        "1-800-FLOWERS",
    ],
)
@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_name_with_a_phone_number_or_a_web_address_is_refused_next_to_the_field(client, field, name):
    response = walk(client, booking_answers(**{field: name}))
    assert response.status_code == 200
    html = response.content.decode()
    error = html[html.find(f'id="id_{field}_error"') :][:400]
    assert NAME_MESSAGE in error
    assert BookingDraft.objects.count() == 0 and ConsultationRequest.objects.count() == 0


@pytest.mark.parametrize(
    "name",
    [
        "María-José O'Neil",
        "Dr. Li",
        "J.R.R. Tolkien",
        "St. John-Smythe",
        "Nguyễn Văn An",
        "李小龍",
        "Henry VIII",
    ],
)
def test_real_names_are_accepted(client, name):
    assert walk(client, booking_answers(first_name=name, last_name=name)).status_code == 302
    assert ConsultationRequest.objects.get().first_name == name


def test_a_refused_name_in_spanish_says_so_in_spanish(client):
    response = walk(client, booking_answers(first_name="evil.com"), prefix="/es")
    assert "Escriba su nombre sin un número de teléfono ni una dirección web." in response.content.decode()


def test_the_busy_pages_are_valid_html(open_times, settings, tmp_path):
    from tests.test_html_validity import validate

    settings.BOOKING_CEILING_PER_HOUR = 0
    documents = {"__folder__": tmp_path}
    documents["ceiling"] = book(contact(1), open_times(9), "203.0.113.1")[0].content.decode()
    settings.CONSULTATION_EMAIL_RATE_LIMIT = "0/d"
    documents["contact"] = walk(Client(), contact(2), REMOTE_ADDR="203.0.113.2").content.decode()
    assert "We cannot book a time online just now" in documents["ceiling"]
    assert "Please call us to send this request" in documents["contact"]
    assert validate(documents) == {}
