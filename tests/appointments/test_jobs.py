"""The job runner: periodic jobs run once per interval on one worker at a time; e-mails wait for their time."""

import datetime
import threading
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from appointments import jobs
from appointments.models import OutboundEmail, PeriodicJob, WorkerHeartbeat
from appointments.services import outbound_email_enqueue


@pytest.fixture
def registry(monkeypatch):
    """An empty registry of this test's own, so the clinic's jobs do not run here."""
    monkeypatch.setattr(jobs, "REGISTRY", {})
    return jobs.REGISTRY


@pytest.mark.django_db
def test_a_job_runs_when_due_and_then_waits_for_its_interval(registry):
    runs = []
    jobs.periodic(every=datetime.timedelta(hours=1), name="count")(lambda: runs.append(1))

    assert jobs.periodic_jobs_run_due() == ["count"]
    assert jobs.periodic_jobs_run_due() == []
    assert runs == [1]
    row = PeriodicJob.objects.get(name="count")
    assert datetime.timedelta(minutes=59) < row.next_run_at - timezone.now() <= datetime.timedelta(hours=1)

    PeriodicJob.objects.update(next_run_at=timezone.now() - datetime.timedelta(seconds=1))
    assert jobs.periodic_jobs_run_due() == ["count"]
    assert runs == [1, 1]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_by_class_and_retried_sooner(registry):
    def broken():
        raise ValueError("Maria Okonkwo's row")  # a message that must not be stored

    jobs.periodic(every=datetime.timedelta(days=1), name="broken")(broken)
    jobs.periodic(every=datetime.timedelta(days=1), name="fine")(lambda: None)
    assert jobs.periodic_jobs_run_due() == ["broken", "fine"]
    row = PeriodicJob.objects.get(name="broken")
    assert row.last_error == "ValueError"
    assert row.next_run_at - timezone.now() <= datetime.timedelta(minutes=5)
    assert PeriodicJob.objects.get(name="fine").last_error == ""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_run_one_job_twice(registry):
    runs = []

    def slow():
        runs.append(threading.get_ident())
        time.sleep(0.5)

    jobs.periodic(every=datetime.timedelta(minutes=10), name="slow")(slow)
    jobs.periodic_jobs_run_due()  # creates the row, runs once
    PeriodicJob.objects.update(next_run_at=timezone.now() - datetime.timedelta(seconds=1))
    runs.clear()

    def worker():
        try:
            jobs.periodic_jobs_run_due()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(runs) == 1


@pytest.mark.django_db
def test_the_clinic_registers_the_daily_purge():
    registry = jobs.periodic_jobs_discover()
    purge = registry["appointments.jobs.closed_requests_purge"]
    assert purge.every == datetime.timedelta(days=1)


@pytest.mark.django_db
def test_a_scheduled_email_waits_for_its_time(registry):
    email = outbound_email_enqueue(
        dedupe_key="reminder:1",
        to="maria@example.com",
        subject="Your consultation tomorrow",
        body="See you at 10:30.",
        send_after=timezone.now() + datetime.timedelta(hours=1),
    )
    call_command("mail_worker", "--once", verbosity=0)
    assert mail.outbox == []
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    call_command("mail_worker", "--once", verbosity=0)
    assert [message.subject for message in mail.outbox] == ["Your consultation tomorrow"]


@pytest.mark.django_db
def test_the_worker_records_a_heartbeat(registry):
    before = timezone.now()
    call_command("mail_worker", "--once", verbosity=0)
    assert WorkerHeartbeat.objects.get().beat_at >= before
