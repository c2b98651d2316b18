"""A real SMTP server on loopback goes down: requests are kept, mail waits, then goes out once."""

import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.utils import timezone

from appointments.models import ConsultationRequest, OutboundEmail
from tests.booking import walk
from tests.factories import booking_answers

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    recorder = Recorder()
    controllers = []

    def start():
        controller = Controller(recorder, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)

    yield recorder, start
    for controller in controllers:
        controller.stop()


def test_mail_survives_an_smtp_outage_and_is_delivered_exactly_once(client, smtp):
    recorder, start_server = smtp
    # The server is down: the request is saved with its two e-mails, which wait.
    response = walk(client, booking_answers())
    assert response.status_code == 302
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.outbound_emails.count() == 2

    call_command("mail_worker", "--once", verbosity=0)
    deferred = list(OutboundEmail.objects.all())
    assert [(email.status, email.attempts) for email in deferred] == [("pending", 1), ("pending", 1)]
    assert all(email.next_attempt_at > timezone.now() for email in deferred)
    assert all(email.last_error == "ConnectionRefusedError" for email in deferred)
    assert recorder.messages == []

    # Still deferred: a second run before the retry time sends nothing.
    call_command("mail_worker", "--once", verbosity=0)
    assert OutboundEmail.objects.filter(attempts=1).count() == 2

    start_server()
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    call_command("mail_worker", "--once", verbosity=0)
    call_command("mail_worker", "--once", verbosity=0)

    assert len(recorder.messages) == 2
    recipients = sorted(rcpt for rcpts, _content in recorder.messages for rcpt in rcpts)
    assert recipients == ["frontdesk@clinic.example", "maria@example.com"]
    assert all(consultation_request.reference in content for _rcpts, content in recorder.messages)
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {("sent", 2)}
    print(
        f"\nSMTP outage: {len(recorder.messages)} messages delivered, "
        f"{sum(e.attempts for e in OutboundEmail.objects.all())} attempts in all, 0 duplicates"
    )
