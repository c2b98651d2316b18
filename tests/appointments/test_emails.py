"""The outbox: what each e-mail says (and never says), queueing once, retries with backoff."""

import datetime
import re
import smtplib

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from appointments.emails import outbound_email_send_due, retry_delay
from appointments.models import ConsultationRequest, OutboundEmail
from appointments.services import outbound_email_enqueue
from tests.booking import walk
from tests.factories import SCREENING_MARKERS, booking_answers, intake_answers, phq9
from tests.intake import answer_intake
from tests.outbox import render_pending

pytestmark = pytest.mark.django_db

HEALTH_WORDS = [
    "bipolar",
    "depress",
    "PHQ",
    "blood pressure",
    "seizure",
    "psychosis",
    "pregnan",
    "self-harm",
    "harming yourself",
    "telehealth",
    "insurance",
    "iv infusion",
    "1985",
]


@pytest.fixture
def urgent_request(client, submit):
    """An urgent request holding every screening marker: the safety question answered yes while
    booking, then the intake answered, PHQ-9 item 9 and a history of psychosis included."""
    submit(booking_answers(concern="bipolar_depression", self_harm_thoughts="yes"))
    consultation_request = ConsultationRequest.objects.get()
    answer_intake(
        client,
        consultation_request,
        intake_answers(
            episode="mixed",
            medical_history=["psychosis_history", "pregnant_or_breastfeeding"],
            **phq9(3, 3, 3, 3, 3, 3, 3, 3, 3),
        ),
    )
    consultation_request.refresh_from_db()
    # The mails below are searched for answers the request really holds.
    assert {name: getattr(consultation_request, name) for name in SCREENING_MARKERS} == SCREENING_MARKERS
    assert (consultation_request.phq9_9, consultation_request.psychosis_history) == (3, True)
    assert consultation_request.is_urgent
    return consultation_request


def mails(consultation_request):
    render_pending()
    patient = OutboundEmail.objects.get(
        dedupe_key=f"consultation-request:{consultation_request.pk}:acknowledgement"
    )
    staff = OutboundEmail.objects.get(
        dedupe_key=f"consultation-request:{consultation_request.pk}:staff-alert"
    )
    return patient, staff


def test_patient_mail_has_name_reference_next_steps_phone_and_status_link(urgent_request):
    patient, _staff = mails(urgent_request)
    assert patient.to == "maria@example.com"
    assert patient.status == OutboundEmail.Status.PENDING
    assert urgent_request.reference in patient.subject
    assert "Dear Maria," in patient.body
    assert urgent_request.reference in patient.body
    assert "What happens next" in patient.body
    assert "(555) 010-0100" in patient.body
    # The link is signed with a timestamp, so it is read back rather than compared with a fresh one.
    link = re.search(r"http://127\.0\.0\.1:8000(/consultation/status/\S+/)", patient.body)
    assert link, patient.body
    signed = link.group(1).removeprefix("/consultation/status/").removesuffix("/")
    assert ConsultationRequest.objects.get_by_status_signature(signed) == urgent_request
    assert "&amp;" not in patient.body and "&#" not in patient.body


def test_staff_alert_has_reference_urgency_and_admin_link_only(urgent_request, settings):
    _patient, staff = mails(urgent_request)
    assert staff.to == settings.CLINIC_STAFF_EMAIL
    # Lock screens show subjects: it says only that the request needs attention soon, not why.
    assert staff.subject == f"Consultation request {urgent_request.reference} needs attention soon"
    assert "urgent" not in staff.subject.lower()
    assert (
        f"http://127.0.0.1:8000/admin/appointments/consultationrequest/{urgent_request.pk}/change/"
        in staff.body
    )
    assert "URGENT" in staff.body
    # The phone number by its line digits: "212" alone can turn up in the request's id in the link.
    for personal in ["Maria", "Okonkwo", "maria@example.com", "555-0199", "5550199", "+1212"]:
        assert personal not in staff.subject + staff.body


def test_routine_staff_alert_says_routine(submit):
    submit(booking_answers())
    _patient, staff = mails(ConsultationRequest.objects.get())
    assert not staff.subject.startswith("URGENT")
    assert "Urgency: routine" in staff.body


def test_neither_mail_carries_any_screening_answer(urgent_request, submit):
    submit(booking_answers())
    for consultation_request in ConsultationRequest.objects.all():
        for email in mails(consultation_request):
            text = (email.subject + "\n" + email.body + "\n" + email.ics).lower()
            for marker in SCREENING_MARKERS.values():
                assert marker.lower() not in text
            for word in HEALTH_WORDS:
                assert word.lower() not in text, (email.dedupe_key, word)
            for flag in consultation_request.get_flags_display():
                assert str(flag).lower() not in text


def test_the_sent_message_carries_no_screening_answer_either(urgent_request):
    outbound_email_send_due()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        raw = message.message().as_string().lower()
        for marker in SCREENING_MARKERS.values():
            assert marker.lower() not in raw
        for word in HEALTH_WORDS:
            assert word.lower() not in raw


def test_a_message_is_queued_once_per_dedupe_key():
    first = outbound_email_enqueue(dedupe_key="k1", to="a@example.com", subject="s", body="b")
    second = outbound_email_enqueue(dedupe_key="k1", to="a@example.com", subject="changed", body="b")
    assert first.pk == second.pk
    assert OutboundEmail.objects.get().subject == "s"


def test_worker_sends_due_mail_once_and_marks_it_sent(submit):
    submit(booking_answers())
    call_command("mail_worker", "--once", verbosity=0)
    call_command("mail_worker", "--once", verbosity=0)
    assert len(mail.outbox) == 2
    assert {tuple(m.to) for m in mail.outbox} == {("maria@example.com",), ("frontdesk@clinic.example",)}
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}
    assert all(email.sent_at and email.attempts == 1 for email in OutboundEmail.objects.all())
    assert mail.outbox[0].extra_headers["Message-ID"].startswith("<outbox-")


def test_backoff_doubles_from_five_seconds_and_stops_at_fifteen_minutes():
    assert [retry_delay(n).total_seconds() for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert retry_delay(40).total_seconds() == 900


class Down:
    """An e-mail backend whose server refuses every connection."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, b"maria@example.com is not reachable")

    def close(self):
        pass

    def open(self):
        pass


def test_a_failure_is_deferred_with_backoff_and_records_only_the_error_class(settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.Down"
    outbound_email_enqueue(dedupe_key="k", to="maria@example.com", subject="s", body="b")
    before = timezone.now()
    report = outbound_email_send_due()
    assert (report.sent, report.deferred, report.failed) == (0, 1, 0)
    email = OutboundEmail.objects.get()
    assert email.status == "pending" and email.attempts == 1
    assert email.last_error == "SMTPConnectError"
    assert (
        before + datetime.timedelta(seconds=4)
        < email.next_attempt_at
        < before + datetime.timedelta(seconds=7)
    )
    # Not due yet: the next run leaves it alone.
    assert outbound_email_send_due().handled == 0


def test_a_message_fails_for_good_after_the_last_attempt(settings):
    settings.EMAIL_BACKEND = f"{__name__}.Down"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    outbound_email_enqueue(dedupe_key="k", to="maria@example.com", subject="s", body="b")
    for _ in range(3):
        OutboundEmail.objects.update(next_attempt_at=timezone.now())
        outbound_email_send_due()
    email = OutboundEmail.objects.get()
    assert email.status == "failed" and email.attempts == 3


def test_a_calendar_attachment_is_sent_when_queued():
    outbound_email_enqueue(
        dedupe_key="k", to="a@example.com", subject="s", body="b", ics="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    )
    outbound_email_send_due()
    (message,) = mail.outbox
    filename, content, mimetype = message.attachments[0]
    assert filename == "invitation.ics" and mimetype == "text/calendar" and "VCALENDAR" in content


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_message_locked_by_one_worker_is_skipped_by_another():
    import threading

    from django.db import connection, transaction

    outbound_email_enqueue(dedupe_key="k", to="a@example.com", subject="s", body="b")
    locked = threading.Event()
    release = threading.Event()

    def hold_lock():
        with transaction.atomic():
            OutboundEmail.objects.select_for_update().get(dedupe_key="k")
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(10)
    try:
        assert outbound_email_send_due().handled == 0
    finally:
        release.set()
        holder.join()
    assert outbound_email_send_due().sent == 1
    assert len(mail.outbox) == 1


def test_send_queues_a_new_requests_mail_and_the_worker_sends_it(client):
    walk(client, booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    # Send writes both messages by their template's name, and renders neither.
    assert set(consultation_request.outbound_emails.values_list("status", "rendered_at")) == {
        ("pending", None)
    }
    assert consultation_request.outbound_emails.count() == 2

    call_command("mail_worker", "--once", verbosity=0)
    assert len(mail.outbox) == 2
    assert set(consultation_request.outbound_emails.values_list("status", flat=True)) == {"sent"}


def test_send_queues_both_messages_by_name_and_renders_nothing(submit):
    submit(booking_answers(first_name="Maria"))
    consultation_request = ConsultationRequest.objects.get()
    queued = OutboundEmail.objects.order_by("dedupe_key").values_list(
        "dedupe_key", "template", "to", "subject", "body", "rendered_at", "consultation_request"
    )
    pk = consultation_request.pk
    assert list(queued) == [
        (
            f"consultation-request:{pk}:acknowledgement",
            "patient_acknowledgement",
            "maria@example.com",
            "",
            "",
            None,
            pk,
        ),
        (
            f"consultation-request:{pk}:staff-alert",
            "staff_alert",
            "frontdesk@clinic.example",
            "",
            "",
            None,
            pk,
        ),
    ]


def test_a_requests_two_messages_are_queued_in_one_insert(submit, django_assert_num_queries):
    from appointments.services import consultation_request_emails_enqueue

    submit(booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    OutboundEmail.objects.all().delete()
    # The request's address and state, then both messages.
    with django_assert_num_queries(2) as captured:
        consultation_request_emails_enqueue(consultation_request_id=consultation_request.pk)
    assert captured.captured_queries[1]["sql"].startswith('INSERT INTO "appointments_outboundemail"')
    assert OutboundEmail.objects.count() == 2


def test_the_worker_renders_before_the_first_attempt_and_a_retry_sends_the_same_words(settings, submit):
    settings.EMAIL_BACKEND = f"{__name__}.Down"
    submit(booking_answers(first_name="Maria"))
    consultation_request = ConsultationRequest.objects.get()
    assert outbound_email_send_due().deferred == 2
    patient, _staff = mails(consultation_request)
    assert patient.attempts == 1 and patient.rendered_at is not None
    assert "Dear Maria," in patient.body
    first_subject, first_body = patient.subject, patient.body

    # The request changes before the retry: the message already written does not.
    ConsultationRequest.objects.filter(pk=consultation_request.pk).update(first_name="Marta")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    assert outbound_email_send_due().sent == 2
    (sent,) = [message for message in mail.outbox if message.to == ["maria@example.com"]]
    assert (sent.subject, sent.body) == (first_subject, first_body)
    assert "Marta" not in sent.body


def test_a_message_whose_request_is_gone_is_deferred_and_the_others_still_go(submit, caplog):
    submit(booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    OutboundEmail.objects.filter(dedupe_key__endswith="staff-alert").update(consultation_request=None)
    report = outbound_email_send_due()
    assert (report.sent, report.deferred, report.failed) == (1, 1, 0)
    (sent,) = mail.outbox
    assert sent.to == ["maria@example.com"] and consultation_request.reference in sent.subject
    orphan = OutboundEmail.objects.get(dedupe_key__endswith="staff-alert")
    assert (orphan.status, orphan.attempts, orphan.last_error, orphan.body) == (
        "pending",
        1,
        "RequestGone",
        "",
    )
    assert "RequestGone" in caplog.text and "maria" not in caplog.text.lower()


def test_a_message_with_neither_words_nor_template_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        outbound_email_enqueue(dedupe_key="k", to="a@example.com", subject="", body="")
    assert OutboundEmail.objects.count() == 0


def test_the_upgrade_queues_the_emails_of_requests_saved_with_them_pending():
    """Migration 0020: before it, Send marked a request and the worker's pass queued its e-mails."""
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from tests.factories import make_request

    upgrade = importlib.import_module("appointments.migrations.0020_request_emails_queued_with_it")
    marked = make_request(email="marked@example.com")
    unfinished = make_request(email="unfinished@example.com", is_unfinished=True, is_urgent=True)
    make_request(email="queued@example.com")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appointments_consultationrequest SET emails_pending = true WHERE id IN (%s, %s)",
            [marked.pk, unfinished.pk],
        )
    before = MigrationLoader(connection).project_state(("appointments", "0019_booking_draft_client_key")).apps
    upgrade.queue_the_marked_requests_emails(before, None)
    assert sorted(OutboundEmail.objects.values_list("dedupe_key", "template", "to")) == [
        (
            f"consultation-request:{marked.pk}:acknowledgement",
            "patient_acknowledgement",
            "marked@example.com",
        ),
        (f"consultation-request:{marked.pk}:staff-alert", "staff_alert", "frontdesk@clinic.example"),
        (f"consultation-request:{unfinished.pk}:staff-alert", "staff_alert", "frontdesk@clinic.example"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM appointments_consultationrequest WHERE emails_pending")
        assert cursor.fetchone() == (0,)
