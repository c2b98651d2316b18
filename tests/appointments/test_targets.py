"""Response targets on the clinic's opening hours: deadlines, overdue marks and filter, the
dashboard's overdue count and what arrived since closing, and the on-call alert."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments import services, targets
from appointments.models import ConsultationRequest, OutboundEmail
from appointments.selectors import consultation_request_dashboard
from tests.appointments.conftest import LIST_URL
from tests.factories import make_request, request_fields

NY = ZoneInfo("America/New_York")


def at(day, hour, minute=0):
    """A moment in New York in the week of Monday 2026-11-23."""
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=NY)


@pytest.fixture
def clinic_hours(clinic_facts, settings):
    """The sample facts: Monday to Friday 9 to 5, Saturday 9 to 1, closed for Thanksgiving (Nov 26-27)."""
    settings.TIME_ZONE = "America/New_York"
    settings.CONSULTATION_URGENT_TARGET_MINUTES = 60
    settings.CONSULTATION_ROUTINE_TARGET_HOURS = 8
    return clinic_facts


@pytest.mark.parametrize(
    ("received", "urgent", "due"),
    [
        (at(23, 10), True, at(23, 11)),  # Monday, open: within the hour
        (at(23, 16, 30), True, at(24, 9, 30)),  # half an hour before closing, half after opening
        (at(23, 22, 4), True, at(24, 10)),  # Monday night: an hour after Tuesday's opening
        (at(25, 22, 4), True, at(28, 10)),  # Wednesday night: Thanksgiving closed, so Saturday
        (at(28, 12, 30), True, at(30, 9, 30)),  # Saturday before one, over Sunday
        (at(23, 10), False, at(24, 10)),  # a working day later
        (at(25, 18), False, at(30, 13)),  # Saturday's 4 hours, then Monday's 4
    ],
)
def test_deadlines_count_only_opening_hours(clinic_hours, received, urgent, due):
    assert targets.respond_by(received=received, urgent=urgent) == due


def test_the_clock_knows_when_the_clinic_last_closed(clinic_hours):
    assert targets.last_closing(before=at(24, 8)) == at(23, 17)
    assert targets.last_closing(before=at(30, 8)) == at(28, 13)
    assert targets.last_closing(before=at(28, 8)) == at(25, 17)  # Thanksgiving skipped


def test_without_opening_hours_the_clock_runs_round_the_clock(db, settings):
    settings.CONSULTATION_URGENT_TARGET_MINUTES = 60
    assert targets.respond_by(received=at(29, 3), urgent=True) == at(29, 4)


def test_the_urgent_protocol_is_the_clinics_own_or_a_default(clinic_hours):
    assert "Call the patient within one hour during opening hours." in targets.urgent_protocol()
    clinic_hours.urgent_protocol = ""
    clinic_hours.save()
    assert "call 911" in targets.urgent_protocol()


def test_a_new_request_gets_its_deadline(clinic_hours):
    consultation_request, _created = services.consultation_request_create(
        form_token="deadline-token",
        answers={
            key: value
            for key, value in request_fields(self_harm_thoughts=True).items()
            if key not in {"reference", "form_token", "confirmation_token"}
        },
    )
    consultation_request.refresh_from_db()
    expected = targets.respond_by(received=consultation_request.created_at, urgent=True)
    assert consultation_request.is_urgent
    assert abs(consultation_request.respond_by - expected) < datetime.timedelta(seconds=5)


@pytest.fixture
def overdue_and_not(db, clinic_hours):
    now = timezone.now()
    return {
        "overdue": make_request(
            is_urgent=True, self_harm_thoughts=True, respond_by=now - datetime.timedelta(hours=2)
        ),
        "in_time": make_request(respond_by=now + datetime.timedelta(hours=2)),
        "contacted": make_request(status="contacted", respond_by=now - datetime.timedelta(hours=5)),
    }


def test_overdue_requests_are_marked_in_the_list_and_filtered(client, login_as, overdue_and_not):
    login_as("front_desk")
    html = client.get(LIST_URL).content.decode()
    rows = {
        ref: row for row in re.findall(r"<tr.*?</tr>", html, re.S) for ref in re.findall(r"KC-[\w-]{9}", row)
    }
    assert "Overdue" in rows[overdue_and_not["overdue"].reference]
    assert "Overdue" not in rows[overdue_and_not["in_time"].reference]
    assert "Overdue" not in rows[overdue_and_not["contacted"].reference]
    filtered = client.get(LIST_URL + "?contact_due=overdue").content.decode()
    assert overdue_and_not["overdue"].reference in filtered
    assert overdue_and_not["in_time"].reference not in filtered
    assert overdue_and_not["contacted"].reference not in filtered


def test_the_dashboard_counts_the_overdue_and_lists_what_arrived_since_closing(clinic_hours):
    routine = make_request(created_at=at(25, 19))
    urgent = make_request(is_urgent=True, self_harm_thoughts=True, created_at=at(25, 18))
    make_request(created_at=at(25, 16))  # before closing
    dashboard = consultation_request_dashboard(now=at(28, 8))
    assert dashboard.closed_at == at(25, 17)
    # Newest risk first: the urgent one, though it arrived earlier.
    assert [item.pk for item in dashboard.since_closing] == [urgent.pk, routine.pk]
    # Urgent and due an hour after Saturday's 9:00 opening: overdue at half past ten, not at 8.
    assert dashboard.overdue == 0
    assert consultation_request_dashboard(now=at(28, 10, 30)).overdue == 1


def test_the_index_shows_overdue_and_since_closing(client, login_as, overdue_and_not):
    login_as("front_desk")
    html = client.get("/admin/").content.decode()
    assert re.search(r'<span class="dashboard-figure">1</span>\s*<span class="dashboard-label">overdue', html)
    assert "Arrived since the clinic closed" in html


@pytest.fixture
def on_call(settings):
    settings.CLINIC_ON_CALL_EMAILS = ["oncall-a@clinic.example", "oncall-b@clinic.example"]
    settings.ON_CALL_ALERT_INTERVAL_MINUTES = 60


def test_the_on_call_list_hears_of_requests_needing_attention_at_most_hourly(db, clinic_hours, on_call):
    now = timezone.now()
    make_request(
        is_urgent=True,
        self_harm_thoughts=True,
        respond_by=now + datetime.timedelta(hours=1),
        current_medications="Zebra-medicine-marker",
    )
    make_request(respond_by=now - datetime.timedelta(minutes=5))
    make_request(respond_by=now + datetime.timedelta(hours=3))  # routine, not yet due
    make_request(status="contacted", is_urgent=True, self_harm_thoughts=True)

    assert services.consultation_requests_alert_on_call(now=now) == 2
    emails = OutboundEmail.objects.order_by("to")
    assert [email.to for email in emails] == ["oncall-a@clinic.example", "oncall-b@clinic.example"]
    for email in emails:
        assert email.subject == "2 consultation requests need attention"
        assert "/admin/appointments/consultationrequest/?contact_due=attention" in email.body
        assert "urgent" not in (email.subject + email.body).lower()
        assert "Zebra-medicine-marker" not in email.body
        assert "KC-" not in email.body

    # Within the hour nobody is told again; after it, the same requests come up once more.
    assert services.consultation_requests_alert_on_call(now=now + datetime.timedelta(minutes=30)) == 0
    assert services.consultation_requests_alert_on_call(now=now + datetime.timedelta(minutes=61)) == 2
    assert OutboundEmail.objects.count() == 4


def test_a_new_request_needing_attention_is_told_the_next_pass(db, clinic_hours, on_call):
    now = timezone.now()
    make_request(is_urgent=True, self_harm_thoughts=True)
    assert services.consultation_requests_alert_on_call(now=now) == 1
    make_request(is_urgent=True, self_harm_thoughts=True)
    assert services.consultation_requests_alert_on_call(now=now + datetime.timedelta(minutes=5)) == 1
    assert OutboundEmail.objects.filter(subject="1 consultation request needs attention").count() == 4


def test_no_on_call_list_no_alert(db, clinic_hours, settings):
    settings.CLINIC_ON_CALL_EMAILS = []
    make_request(is_urgent=True, self_harm_thoughts=True)
    assert services.consultation_requests_alert_on_call() == 0
    assert OutboundEmail.objects.count() == 0
    assert ConsultationRequest.objects.get().attention_alerted_at is None


def test_the_command_runs_one_pass(db, clinic_hours, on_call, capsys):
    make_request(is_urgent=True, self_harm_thoughts=True)
    call_command("alert_on_call")
    assert "On-call alert: 1 request(s) named." in capsys.readouterr().out
    assert OutboundEmail.objects.count() == 2


def test_the_on_call_alert_runs_on_the_job_runner_every_five_minutes():
    from appointments.jobs import periodic_jobs_discover

    registry = periodic_jobs_discover()
    assert registry["appointments.jobs.on_call_alert"].every == datetime.timedelta(minutes=5)
