"""Extract the messages patients read into ``locale/<language>/LC_MESSAGES/django.po``.

``make messages`` runs it (``python -m clinic.messages``), and
``tests/clinic/test_translations.py`` runs it afresh into a scratch folder to find any message
without a Spanish translation. The staff workspace stays English: a file belongs in
``STAFF_ONLY`` when no patient ever reads its words. A patient-facing file waits in
``NOT_YET_TRANSLATED`` only until its pages settle; then it leaves the list and is translated.
"""

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LANGUAGES = ["es"]

# Paths as makemessages sees them from the project's root (fnmatch patterns; "*" crosses "/").
OUTSIDE_THE_SITE = [".venv", "node_modules", "staticfiles", "media", "tests", "bench", "deploy", "locale"]
STAFF_ONLY = [
    "*/migrations",
    "*/management",
    # The staff workspace, its sign-in pages and its e-mails.
    "templates/admin",
    "templates/two_factor",
    "templates/registration",
    "templates/clinic/email",
    "templates/appointments/email/staff_*",
    "appointments/admin",
    "education/admin.py",
    "clinic/admin.py",
    "clinic/staff*.py",
    "clinic/gunicorn.py",
    "appointments/apps.py",
    "appointments/jobs.py",
    "appointments/roles.py",
    "appointments/selectors.py",
    "appointments/staff_calendar.py",
    "appointments/targets.py",
    "education/apps.py",
    # Models and most services: field names, choices and refusals that staff read. What a patient
    # reads of them is worded again on the patient's pages (the status page's own sentences), or
    # comes from Django's own catalogue (the names of weekdays and months).
    "appointments/models",
    "education/models",
    "education/services.py",
    *(
        f"appointments/services/{name}.py"
        for name in [
            "__init__",
            "alerts",
            "audit",
            "booking",
            "cancellation",
            "decisions",
            "outbox",
            "reminders",
            "retention",
            "scheduling",
            "unsaved_work",
            "workspace",
        ]
    ),
]
# Patient-facing files whose pages are still settling: extracted and translated once they land.
NOT_YET_TRANSLATED = []
IGNORED = OUTSIDE_THE_SITE + STAFF_ONLY + NOT_YET_TRANSLATED


def extract(*, into=None, languages=LANGUAGES, verbosity=1):
    """Run makemessages over the project: into ``locale/``, or afresh into the folder ``into``.

    Django must be set up. File names, not line numbers, mark where a message is used, so that
    an edit elsewhere in a template does not rewrite the catalogue. A fresh extraction runs from
    a scratch root that links to the project's folders but not to ``locale/``: makemessages files
    each message under the nearest ``locale/`` above its source, which would be the real one.
    """
    if into is None:
        _makemessages(BASE_DIR, [BASE_DIR / "locale"], languages, verbosity)
        return
    root = Path(into) / "project"
    root.mkdir()
    for entry in BASE_DIR.iterdir():
        if entry.name != "locale" and not entry.name.startswith("."):
            (root / entry.name).symlink_to(entry)
    _makemessages(root, [Path(into) / "locale"], languages, verbosity, symlinks=True)


def _makemessages(root, locale_paths, languages, verbosity, symlinks=False):
    from django.core.management import call_command
    from django.test.utils import override_settings

    here = os.getcwd()
    os.chdir(root)
    try:
        with override_settings(LOCALE_PATHS=[str(path) for path in locale_paths]):
            call_command(
                "makemessages",
                locale=list(languages),
                ignore_patterns=list(IGNORED),
                add_location="file",
                no_obsolete=True,
                symlinks=symlinks,
                verbosity=verbosity,
            )
    finally:
        os.chdir(here)


def main():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    os.environ.setdefault("DEBUG", "true")
    django.setup()
    extract()
    return 0


if __name__ == "__main__":
    sys.exit(main())
