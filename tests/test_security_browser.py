"""In a real browser: htmx works under the strict CSP, and a refused CSRF token is explained
and replaced so the next try succeeds."""

from __future__ import annotations

import pytest

from tests.conftest import browser_log_in as log_in

pytestmark = pytest.mark.browser


def watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    return violations


def test_user_quick_adds_with_htmx_under_the_strict_csp(page, user):
    violations = watch_csp(page)
    log_in(page, user)
    page.locator("#quick-title").fill("Added under CSP")
    page.get_by_role("button", name="Add task").click()
    page.locator("#task-rows tr", has_text="Added under CSP").wait_for()
    assert violations == []


def test_user_sees_why_a_refused_token_failed_and_the_retry_works(page, user):
    violations = watch_csp(page)
    log_in(page, user)
    # As if the session's token had changed since the page was loaded.
    page.evaluate("""() => {
        document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": "stale"}));
        document.querySelectorAll('input[name="csrf_token"]').forEach(i => { i.value = "stale"; });
    }""")
    page.locator("#quick-title").fill("Second try")
    page.get_by_role("button", name="Add task").click()
    page.locator("#flash", has_text="has been renewed").wait_for()
    assert page.locator("#quick-title").input_value() == "Second try"
    page.get_by_role("button", name="Add task").click()
    page.locator("#task-rows tr", has_text="Second try").wait_for()
    assert violations == []
