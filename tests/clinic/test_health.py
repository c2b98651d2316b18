"""The readiness report names each dependency with its state, and nothing of the configuration."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from appointments.jobs import worker_heartbeat_record
from appointments.models import OutboundEmail, WorkerHeartbeat
from appointments.services import outbound_email_enqueue

pytestmark = pytest.mark.django_db


def test_readiness_is_ok_when_every_dependency_answers(client):
    worker_heartbeat_record()
    response = client.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"postgresql", "redis", "mail_worker", "outbox", "client_addresses"}
    assert {check["state"] for check in report["checks"].values()} == {"ok"}
    assert all(check["latency_ms"] >= 0 for check in report["checks"].values())
    assert "no-cache" in response["Cache-Control"]


def test_a_silent_mail_worker_makes_the_site_degraded_not_unavailable(client):
    WorkerHeartbeat.objects.create(name="mail_worker", beat_at=timezone.now() - datetime.timedelta(minutes=3))
    response = client.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    assert report["checks"]["mail_worker"]["state"] == "degraded"
    assert 175 <= report["checks"]["mail_worker"]["last_heartbeat_seconds_ago"] <= 200


def test_mail_waiting_too_long_makes_the_site_degraded(client):
    worker_heartbeat_record()
    email = outbound_email_enqueue(dedupe_key="old", to="maria@example.com", subject="Hello", body="Hi")
    OutboundEmail.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    report = client.get("/readyz").json()
    assert report["status"] == "degraded"
    assert report["checks"]["outbox"]["state"] == "degraded"
    assert 655 <= report["checks"]["outbox"]["oldest_pending_seconds"] <= 700


def test_mail_failing_for_too_long_makes_the_site_degraded(client):
    """A message that keeps failing is never due for long (each retry is later): its age counts."""
    worker_heartbeat_record()
    email = outbound_email_enqueue(dedupe_key="failing", to="maria@example.com", subject="Hello", body="Hi")
    OutboundEmail.objects.filter(pk=email.pk).update(
        attempts=4,
        created_at=timezone.now() - datetime.timedelta(minutes=12),
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=40),
    )
    report = client.get("/readyz").json()
    assert report["status"] == "degraded"
    assert 715 <= report["checks"]["outbox"]["oldest_pending_seconds"] <= 760


def test_mail_scheduled_for_later_is_not_waiting(client):
    worker_heartbeat_record()
    outbound_email_enqueue(
        dedupe_key="reminder",
        to="maria@example.com",
        subject="Tomorrow",
        body="Hi",
        send_after=timezone.now() + datetime.timedelta(days=1),
    )
    report = client.get("/readyz").json()
    assert report["status"] == "ok"
    assert report["checks"]["outbox"]["oldest_pending_seconds"] is None


def test_the_report_reveals_no_configuration(client):
    body = client.get("/readyz").content.decode()
    database = settings.DATABASES["default"]
    for secret in ["127.0.0.1", "6379", "redis://", "postgres://", settings.SECRET_KEY, database["NAME"]]:
        assert secret not in body
