"""One pass of the on-call alert: e-mail the on-call list about requests that need attention."""

from django.core.management.base import BaseCommand

from appointments.services import consultation_requests_alert_on_call


class Command(BaseCommand):
    help = (
        "E-mail CLINIC_ON_CALL_EMAILS how many new requests are urgent or overdue (each request at most "
        "once in ON_CALL_ALERT_INTERVAL_MINUTES). Run it every few minutes, at any hour."
    )

    def handle(self, *args, **options):
        count = consultation_requests_alert_on_call()
        self.stdout.write(f"On-call alert: {count} request(s) named.")
