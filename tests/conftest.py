"""Fixtures shared by the whole suite."""

import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in the test thread; Django would otherwise
# refuse database access from the live-server tests that drive it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_sessionstart(session):
    """Compile the Spanish catalogue when it is newer than its .mo (make test does it too), before
    any page is rendered: Django reads a catalogue once per process."""
    from django.core.management import call_command

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
