"""Load the clinic's own articles into the education library (safe to run on every start)."""

from django.core.management.base import BaseCommand

from education.services import clinic_content_load


class Command(BaseCommand):
    help = (
        "Create the clinic's articles from the education app's content files. An article that a "
        "staff member has edited since it was loaded is left as it is."
    )

    def handle(self, *args, **options):
        for result in clinic_content_load():
            self.stdout.write(f"{result.article.slug}: {result.outcome}")
