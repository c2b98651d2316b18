"""Fixtures shared by the whole suite."""

import os

import pytest
from django.core.cache import cache

# Playwright's sync API runs an event loop in the test thread; Django would otherwise
# refuse database access from the live-server tests that drive it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (rate-limit counters included)."""
    cache.clear()
    yield
    cache.clear()
