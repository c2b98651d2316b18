"""Load sample clinicians, consultation kinds and hours for a development machine."""

from django.core.management.base import BaseCommand

from appointments.samples import sample_schedule_load


class Command(BaseCommand):
    help = (
        "Create sample clinicians, consultation kinds and weekly hours (marked as samples) that do not "
        "exist yet; safe to repeat (make run does), and never changes what staff edited. Not for production."
    )

    def handle(self, *args, **options):
        for report in sample_schedule_load():
            self.stdout.write(
                f"{report.label}: {'created' if report.created else 'already there, left as it is'}"
            )
