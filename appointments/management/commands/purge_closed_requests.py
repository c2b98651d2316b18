"""Anonymise consultation requests closed longer ago than the retention period."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from appointments.services import consultation_requests_purge_closed


class Command(BaseCommand):
    help = (
        "Anonymise closed consultation requests older than CONSULTATION_RETENTION_DAYS: names, contact "
        "details, free-text answers, notes and their e-mails. Open requests and the audit trail are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be anonymised; change nothing."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=settings.CONSULTATION_RETENTION_DAYS,
            help="Retention period in days (default: CONSULTATION_RETENTION_DAYS, %(default)s).",
        )

    def handle(self, *args, dry_run, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        report = consultation_requests_purge_closed(older_than=datetime.timedelta(days=days), dry_run=dry_run)
        verb = "Would anonymise" if dry_run else "Anonymised"
        self.stdout.write(
            f"{verb} {report.requests} closed request(s) closed more than {days} days ago, with "
            f"{report.emails} e-mail(s), {report.notes} note(s) and {report.appointments} appointment(s)."
        )
        self.stdout.write(
            f"Kept {report.open_kept} open request(s) older than that, and the whole audit trail."
        )
