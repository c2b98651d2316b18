"""Create the staff role groups (front desk, clinician, clinic admin) with their permissions."""

from django.core.management.base import BaseCommand

from appointments.roles import ROLE_DESCRIPTIONS, staff_groups_create


class Command(BaseCommand):
    help = "Create the staff groups and set their permissions; safe to repeat (make run does)."

    def handle(self, *args, **options):
        for report in staff_groups_create():
            verb = "Created" if report.created else "Updated"
            self.stdout.write(
                f"{verb} group “{report.name}” ({report.permissions} permissions: "
                f"{ROLE_DESCRIPTIONS[report.name]})."
            )
