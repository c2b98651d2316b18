"""Periodic jobs, run by ``manage.py mail_worker`` beside the e-mail outbox.

A job is a plain function registered with ``@periodic``::

    @periodic(every=timedelta(hours=1))
    def overdue_requests_alert():
        ...

Any app may register jobs in a ``jobs`` module of its own; the worker imports them all. Each job
has a row in ``PeriodicJob``; a worker runs a job only while it holds that row's lock
(``SELECT ... FOR UPDATE SKIP LOCKED``), inside one transaction with the row's next run time, so
several workers never run it twice at once, and a worker killed mid-run leaves the job due for the
next one (at least once). A job should be idempotent and short, and queue e-mail through the outbox
(``outbound_email_enqueue``, with ``send_after`` for a message due later), never send it itself.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .models import PeriodicJob, WorkerHeartbeat
from .services.alerts import consultation_requests_alert_on_call
from .services.drafts import booking_drafts_delete_expired, booking_drafts_escalate_urgent
from .services.intake import intake_reminders_enqueue_due
from .services.reminders import appointment_reminders_enqueue_due
from .services.retention import consultation_requests_purge_closed
from .services.unsaved_work import unsaved_staff_work_delete_expired

logger = logging.getLogger(__name__)

# A job that raised is tried again after this long, or at its interval if that is sooner.
RETRY_AFTER_FAILURE = timedelta(minutes=5)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    function: object


REGISTRY: dict[str, Job] = {}


def periodic(*, every: timedelta, name: str | None = None):
    """Register the decorated function to run every ``every``, on whichever worker claims it first."""

    def register(function):
        job_name = name or f"{function.__module__}.{function.__qualname__}"
        REGISTRY[job_name] = Job(name=job_name, every=every, function=function)
        return function

    return register


def periodic_jobs_discover() -> dict[str, Job]:
    """Import every installed app's ``jobs`` module, so that their jobs are registered."""
    autodiscover_modules("jobs")
    return REGISTRY


def periodic_jobs_run_due(*, every_job: bool = False) -> list[str]:
    """Run each registered job whose time has come and that no other worker holds; return their names.

    With ``every_job``, run each one now whatever its next time (``mail_worker --once``).
    """
    now = timezone.now()
    PeriodicJob.objects.bulk_create(
        [PeriodicJob(name=name, next_run_at=now) for name in REGISTRY], ignore_conflicts=True
    )
    ran = []
    for job in list(REGISTRY.values()):
        with transaction.atomic():
            rows = PeriodicJob.objects.select_for_update(skip_locked=True).filter(name=job.name)
            row = (rows if every_job else rows.filter(next_run_at__lte=Now())).first()
            if row is None:
                continue
            row.last_started_at = timezone.now()
            try:
                with transaction.atomic():
                    job.function()
            except Exception as error:
                row.last_error = type(error).__name__[:200]
                row.next_run_at = timezone.now() + min(job.every, RETRY_AFTER_FAILURE)
                # The class only: a database error's text can quote a patient's row.
                logger.error("Periodic job %s failed (%s)", job.name, row.last_error)
            else:
                row.last_error = ""
                row.next_run_at = timezone.now() + job.every
            row.last_finished_at = timezone.now()
            row.save()
            ran.append(job.name)
    return ran


HEARTBEAT_NAME = "mail_worker"


def worker_heartbeat_record() -> None:
    """Note that a worker is alive now (one row, whichever worker went round last)."""
    WorkerHeartbeat.objects.update_or_create(name=HEARTBEAT_NAME, defaults={"beat_at": timezone.now()})


# The clinic's own jobs.


@periodic(every=timedelta(days=1))
def closed_requests_purge():
    """Anonymise closed requests past the retention period (``purge_closed_requests``, daily)."""
    report = consultation_requests_purge_closed(
        older_than=timedelta(days=settings.CONSULTATION_RETENTION_DAYS), dry_run=False
    )
    logger.info("Retention: anonymised %d closed request(s)", report.requests)


@periodic(every=timedelta(hours=1))
def unsaved_staff_work_purge():
    """Delete unsaved staff work older than ``UNSAVED_STAFF_WORK_HOURS``: it may hold notes about patients."""
    unsaved_staff_work_delete_expired()


@periodic(every=timedelta(minutes=5))
def appointment_reminders_queue():
    """Queue the reminders that have come due (each once, however often this runs)."""
    appointment_reminders_enqueue_due()


@periodic(every=timedelta(minutes=5))
def on_call_alert():
    """Tell the on-call list about new requests that are urgent or overdue, at any hour (each request at
    most once per ``ON_CALL_ALERT_INTERVAL_MINUTES``)."""
    consultation_requests_alert_on_call()


@periodic(every=timedelta(minutes=15))
def intake_reminders_queue():
    """Remind patients whose consultation is near and whose clinical intake is not complete (once each)."""
    intake_reminders_enqueue_due()


@periodic(every=timedelta(hours=1))
def booking_drafts_purge():
    """Delete booking drafts past their 24 hours: they may hold health answers."""
    booking_drafts_delete_expired()


@periodic(every=timedelta(minutes=5))
def urgent_booking_drafts_escalate():
    """Bring to staff the drafts left for 30 minutes with a yes to the safety question: each
    counted against its client's strict limit, once per patient's contact details, and e-mailed one
    by one up to ``URGENT_DRAFT_ALERT_LIMIT`` (then one summary a period; ``booking_drafts_escalate_urgent``)."""
    booking_drafts_escalate_urgent()
