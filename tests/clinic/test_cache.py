"""The cache is optional: with Redis refusing or hanging, pages and requests go on, and the outage is
logged once."""

import logging
import socket
import time

import pytest
from django.core.cache import cache

from appointments.models import ConsultationRequest
from education.services import clinic_content_load
from tests.appointments.conftest import answers
from tests.booking import walk
from tests.servers import free_port

pytestmark = pytest.mark.django_db

ARTICLE = "/learn/ketamine-for-bipolar-disorder/"


def redis_at(settings, port, **options):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5, "retry_after": 60, **options},
        }
    }


@pytest.fixture
def dead_redis(settings):
    """Nothing listens on the cache's port."""
    redis_at(settings, free_port())


@pytest.fixture
def hanging_redis(settings):
    """Something accepts connections on the cache's port and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        redis_at(settings, listener.getsockname()[1])
        yield


def test_a_refused_cache_answers_misses_and_logs_the_outage_once(dead_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="clinic.cache"):
        assert cache.get("anything", "default") == "default"
        cache.set("anything", 1)
        assert cache.add("counter", 1) is False
        assert cache.incr("counter") is None
        assert cache.get_many(["a", "b"]) == {}
        cache.delete("anything")
    outage = [record for record in caplog.records if "Cache unavailable" in record.getMessage()]
    assert len(outage) == 1
    assert "ConnectionError" in outage[0].getMessage()


def test_a_hanging_cache_costs_one_timeout_then_nothing(hanging_redis):
    started = time.monotonic()
    assert cache.get("anything") is None
    first = time.monotonic() - started
    started = time.monotonic()
    for _ in range(20):
        cache.get("anything")
    after = time.monotonic() - started
    # The read timeout is 0.5 s; after it the cache is skipped (for "retry_after" seconds).
    assert first < 2
    assert after < 0.5


@pytest.mark.parametrize(
    "path", ["/", "/learn/", "/learn/?q=0", "/learn/?q=0&q=", ARTICLE, "/consultation/", "/consultation/you/"]
)
def test_pages_answer_without_the_cache(dead_redis, client, path):
    clinic_content_load()
    assert client.get(path).status_code == 200


def test_requests_are_taken_without_the_cache_even_past_the_limit(dead_redis, client, settings):
    settings.CONSULTATION_RATE_LIMIT = "1/10m"
    for number in range(3):
        response = walk(client, answers(email=f"patient{number}@example.com"))
        assert response.status_code == 302
        assert response["Location"].startswith("/consultation/received/")
    assert ConsultationRequest.objects.count() == 3


def test_incr_adds_to_a_key_that_exists_and_refuses_a_missing_one():
    cache.delete("counted")
    with pytest.raises(ValueError):
        cache.incr("counted")
    assert cache.get("counted") is None  # Refused, and not made either.
    cache.set("counted", 5, 30)
    assert cache.incr("counted") == 6
    assert cache.incr("counted", 10) == 16
    assert cache.get("counted") == 16


def test_incr_without_the_cache_answers_nothing(dead_redis):
    assert cache.incr("counted") is None
