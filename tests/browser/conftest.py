"""Real-browser fixtures: Debian's Chromium driven by Playwright against the live server."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _new_page(browser, viewport):
    # axe-core is injected as a script, which the site's Content Security Policy forbids.
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    return context, context.new_page()


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request, browser, live_server):
    context, page = _new_page(browser, request.param)
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context, page = _new_page(browser, PHONE)
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser, live_server):
    """A 1280 x 900 page: a laptop's first screen."""
    context, page = _new_page(browser, DESKTOP)
    page.set_default_timeout(10_000)
    yield page
    context.close()


def axe_violations(page):
    """Run axe-core on the page; return the WCAG 2.1 A/AA violations as readable strings."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]


@pytest.fixture
def assert_accessible():
    def check(page):
        violations = axe_violations(page)
        assert violations == [], "\n".join(violations)

    return check
