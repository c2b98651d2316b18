"""The job runner: deliver the e-mails queued in the PostgreSQL outbox, and run the periodic jobs.

E-mails are retried with backoff, and one queued with ``send_after`` waits until then. The periodic
jobs are those registered with ``@periodic`` (``appointments/jobs.py``); several workers may run at
once, and each job runs on one of them at a time.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from appointments.emails import outbound_email_send_due
from appointments.jobs import periodic_jobs_discover, periodic_jobs_run_due, worker_heartbeat_record

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send queued e-mails from the outbox and run the periodic jobs; run beside the web server "
        "(make run starts it)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Send everything due now and run every periodic job once, then exit.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.OUTBOX_POLL_INTERVAL_SECONDS,
            help="Seconds to wait between polls when nothing is due (default: %(default)s).",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=100,
            help="Messages to handle before polling again (default: %(default)s).",
        )

    def handle(self, *args, once, interval, batch, **options):
        self.stopping = False
        jobs = periodic_jobs_discover()
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
            self.stdout.write(
                f"Mail worker polling the outbox every {interval:g}s, with {len(jobs)} periodic jobs "
                "(Ctrl-C stops it)."
            )
        while not self.stopping:
            # A long-lived process drops connections that are broken or past CONN_MAX_AGE
            # (but never one inside a transaction, as a test's is).
            if not connection.in_atomic_block:
                close_old_connections()
            try:
                worker_heartbeat_record()
                periodic_jobs_run_due(every_job=once)
                report = outbound_email_send_due(limit=batch)
            except (OperationalError, InterfaceError) as error:
                # The database restarted or the network blinked: wait, reconnect, carry on.
                if once:
                    raise
                logger.warning("Mail worker lost the database (%s); retrying", type(error).__name__)
                connection.close()
                self._sleep(interval)
                continue
            if (report.handled or once) and options["verbosity"] >= 1:
                self.stdout.write(f"Sent {report.sent}, deferred {report.deferred}, failed {report.failed}.")
            if report.handled >= batch:
                continue
            if once:
                break
            self._sleep(interval)

    def _stop(self, signum, frame):
        self.stopping = True

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))
