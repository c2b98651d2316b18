"""Redis killed mid-run: patients are served and their requests taken; Redis back: caching and limits resume."""

import json

import pytest

from appointments.jobs import worker_heartbeat_record
from appointments.models import ConsultationRequest

from .conftest import Browser, marked_answers, redis_server, serve, site_env, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.slow]

ARTICLE = "/learn/ketamine-for-bipolar-disorder/"
PAGES = ["/", "/learn/", ARTICLE, "/consultation/"]
LIMIT = 2


def readiness(browser, base):
    status, _headers, body = browser.request(f"{base}/readyz")
    return status, json.loads(body)


def submit(browser, base, **answers):
    return browser.submit(f"{base}/consultation/", marked_answers(**answers))


def test_a_redis_outage_costs_patients_nothing_and_ends_without_a_restart(tmp_path):
    from education.services import clinic_content_load

    clinic_content_load()
    worker_heartbeat_record()
    browser = Browser()
    log = tmp_path / "server.log"
    with redis_server() as cache:
        env = site_env(
            REDIS_URL=cache.url, CONSULTATION_RATE_LIMIT=f"{LIMIT}/10m", CACHE_RETRY_AFTER_SECONDS="0.5"
        )
        with serve(env, log_path=log) as base:
            assert browser.request(base + ARTICLE)[0] == 200
            assert cache.client().dbsize() > 0, "the article page should be in the cache"
            assert readiness(browser, base)[1]["status"] == "ok"

            cache.kill()

            for path in PAGES:
                assert browser.request(base + path)[0] == 200, path
            # More requests than the limit allows: the limit cannot count without Redis, and lets them in.
            plain = [submit(browser, base, email=f"patient{n}@example.com") for n in range(LIMIT + 1)]
            assert [status for status, _headers, _page in plain] == [302] * (LIMIT + 1)
            status, headers, _page = submit(
                browser, base, email="urgent@example.com", self_harm_thoughts="yes"
            )
            assert status == 302
            status, _headers, page = browser.request(base + headers["Location"])
            assert status == 200
            assert "988" in page
            assert ConsultationRequest.objects.count() == LIMIT + 2
            assert ConsultationRequest.objects.get(email="urgent@example.com").is_urgent

            status, report = readiness(browser, base)
            assert status == 200
            assert report["status"] == "degraded"
            assert report["checks"]["redis"]["state"] == "unavailable"
            assert report["checks"]["postgresql"]["state"] == "ok"
            assert browser.request(f"{base}/healthz")[:1] == (200,)

            # Redis comes back on the same address; the site is not restarted.
            cache.start()
            wait_for(
                lambda: browser.request(base + ARTICLE)[0] == 200 and cache.client().dbsize() > 0, timeout=10
            )
            again = [submit(browser, base, email=f"again{n}@example.com")[0] for n in range(LIMIT + 1)]
            assert again == [302] * LIMIT + [429]
            assert readiness(browser, base)[1]["status"] == "ok"

    # One warning for the whole outage, not one per request.
    text = log.read_text()
    assert text.count("Cache unavailable") == 1
    assert text.count("Cache available again") == 1
