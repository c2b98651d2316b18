"""The site's frame in a real browser: accessible, tappable, and the same on phone and desktop."""

import pytest


@pytest.fixture
def clinic_facts_committed(transactional_db):
    """The sample clinic facts, committed so that the live server's thread can read them."""
    from education.services import clinic_facts_load_samples

    clinic_facts_load_samples()


@pytest.mark.parametrize("path", ["/", "/privacy/", "/no-such-page/", "/costs/", "/what-to-expect/"])
def test_pages_have_no_wcag_violations(page, live_server, assert_accessible, clinic_facts_committed, path):
    page.goto(live_server.url + path)
    assert page.locator("footer").get_by_text("988").count() >= 1
    assert_accessible(page)


def test_skip_link_moves_focus_to_main(phone_page, live_server):
    phone_page.goto(live_server.url + "/")
    phone_page.keyboard.press("Tab")
    skip = phone_page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible()
    phone_page.keyboard.press("Enter")
    assert phone_page.evaluate("document.activeElement.id") == "main"


def test_no_horizontal_scroll_on_a_phone(phone_page, live_server):
    phone_page.goto(live_server.url + "/")
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_body_text_is_18px_on_a_phone(phone_page, live_server):
    phone_page.goto(live_server.url + "/")
    size = phone_page.evaluate("getComputedStyle(document.body).fontSize")
    assert size == "18px"


def test_page_sends_content_security_policy_and_loads_only_own_origin(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(live_server.url + "/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert requested and all(url.startswith(live_server.url) for url in requested)
    assert violations == []
    context.close()
