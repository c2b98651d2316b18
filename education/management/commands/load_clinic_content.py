"""Load the clinic's own articles and sample facts (safe to run on every start)."""

from django.core.management.base import BaseCommand

from education.services import (
    CLINIC_FACTS_FILE,
    SAFETY_FILES,
    clinic_content_load,
    clinic_facts_load_samples,
    read_content_file,
    safety_notice_load,
    search_synonyms_load_samples,
)


class Command(BaseCommand):
    help = (
        "Create the clinic's articles from the education app's content files. An article that a "
        "staff member has edited since it was loaded is left as it is. On a fresh database, also "
        "fill in sample clinic facts (hours, prices, states served) for a clinic admin to replace, "
        "and the search's synonyms."
    )

    def handle(self, *args, **options):
        for result in clinic_content_load():
            self.stdout.write(f"{result.article.slug}: {result.outcome}")
        for path in SAFETY_FILES:
            content = read_content_file(path)
            self.stdout.write(
                f"safety information {content['notice']['key']}: {safety_notice_load(content=content)}"
            )
        self.stdout.write(f"clinic facts: {clinic_facts_load_samples()}")
        groups = read_content_file(CLINIC_FACTS_FILE)["search"]["synonyms"]
        self.stdout.write(f"search synonyms: {search_synonyms_load_samples(groups=groups)} added")
