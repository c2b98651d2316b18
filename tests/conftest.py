"""Fixtures shared by the whole suite."""

import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from tests.factories import PASSWORD

MONDAY = 0

# Playwright's sync API runs an event loop in the test thread; Django would otherwise
# refuse database access from the live-server tests that drive it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_sessionstart(session):
    """Compile the Spanish catalogue when it is newer than its .mo (make test does it too), before
    any page is rendered: Django reads a catalogue once per process."""
    from django.core.management import call_command

    if hasattr(session.config, "workerinput"):
        return  # A pytest-xdist worker: the controller compiled it before starting the workers.

    for po in (settings.BASE_DIR / "locale").glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            call_command(
                "compilemessages",
                locale=[po.parent.parent.name],
                ignore_patterns=[".venv", "node_modules"],
                verbosity=0,
            )


def _clear_test_cache():
    # Only this run's keys: other runs may share the Redis database, and a FLUSHDB would
    # reset their rate-limit counters in the middle of a test.
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def staff_client(client, db):
    """A client logged in as a superuser who has passed the second factor."""
    from tests.factories import log_in_verified

    user = get_user_model().objects.create_superuser("superuser", "superuser@clinic.example", PASSWORD)
    return log_in_verified(client, user)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (rate-limit counters included)."""
    _clear_test_cache()
    yield
    _clear_test_cache()


@pytest.fixture
def clinic_facts(db):
    """The sample clinic facts, loaded as `make run` loads them (returns the clinic profile)."""
    from education.models import ClinicProfile
    from education.services import clinic_facts_load_samples

    clinic_facts_load_samples()
    return ClinicProfile.objects.get()


@pytest.fixture
def kind(request, db):
    """The clinic's consultation kind: "First consultation", 45 minutes, a time on every hour.

    A file or a test changes it with ``@pytest.mark.kind(buffer_after_minutes=15, ...)`` (the
    keyword arguments of ``tests.factories.make_kind``).
    """
    from tests.factories import make_kind

    fields = {"name": "First consultation", "duration_minutes": 45, "interval_minutes": 60}
    for marker in reversed(list(request.node.iter_markers("kind"))):
        fields.update(marker.kwargs)
    return make_kind(**fields)


@pytest.fixture
def clinician(request, kind):
    """Dr. Ana Reyes, licensed in New York, doing ``kind`` on Mondays from 9 to 1 (the clinic's time),
    her video room in her telehealth instructions.

    A file or a test changes her with ``@pytest.mark.clinician(hours=..., states=..., ...)`` (the
    keyword arguments of ``tests.factories.make_clinician``).
    """
    from tests.factories import make_clinician

    fields = {
        "kinds": [kind],
        "states": ["NY"],
        "hours": [(MONDAY, "09:00", "13:00")],
        "display_name": "Dr. Ana Reyes",
        "telehealth_instructions": "Join at https://video.clinic.example/room-7",
    }
    for marker in reversed(list(request.node.iter_markers("clinician"))):
        fields.update(marker.kwargs)
    return make_clinician(**fields)
