"""Browser fixtures: pages at a chosen size, colour scheme and time zone."""

from __future__ import annotations

import pytest

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def open_page(browser, live_server):
    """Open a page in a fresh context: `open_page(viewport, color_scheme=..., ...)`."""
    contexts = []

    def _open(viewport=DESKTOP, **options):
        context = browser.new_context(base_url=live_server, viewport=viewport, **options)
        context.set_default_timeout(5000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate(
        "Math.max(0, document.scrollingElement.scrollWidth - window.innerWidth)")


def log_in(page, user) -> None:
    """Log in through the form and wait until the task list's scripts run (the shortcuts
    and focus handling live in static/js/app.js, loaded with `defer`)."""
    from tests.conftest import browser_log_in

    browser_log_in(page, user)
    page.wait_for_load_state("load")
