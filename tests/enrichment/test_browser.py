"""In Chromium: the enrichment appears after the page has loaded; failures offer a retry."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def log_in(page, user, next_path: str):
    """Log in through the form; returns the response of the page it lands on (next_path)."""
    page.goto(f"/auth/login?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    with page.expect_response(
        lambda r: r.request.method == "GET" and r.url.endswith(next_path)
    ) as landed:
        page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))
    return landed.value


def test_user_sees_stars_and_weather_appear_after_detail_page_loads(fake, page, make_task,
                                                                    user):
    task_id = make_task(user, "Plan the trip", city="Paris", repo="pallets/flask")
    fake.repo()
    fake.weather()
    html = log_in(page, user, f"/tasks/{task_id}").text()
    assert "Loading…" in html and "1,234" not in html  # the page came without them
    expect(page.locator(".enrichment.repo")).to_contain_text("★ 1,234 stars", timeout=3000)
    expect(page.locator(".enrichment.weather")).to_contain_text("18.5 °C, Partly cloudy")


def test_user_sees_stars_appear_in_list_row(fake, page, make_task, user):
    task_id = make_task(user, "Review the release", repo="pallets/flask")
    fake.repo()
    log_in(page, user, "/tasks")
    expect(page.locator(f"#task-{task_id} .enrichment.repo")).to_have_text("★ 1,234",
                                                                           timeout=3000)


def test_user_retries_unavailable_repository_and_sees_stars(fake, page, make_task, user):
    task_id = make_task(user, "Review the release", repo="pallets/flask")
    fake.repo(body={"message": "down"}, status=500, oneshot=True)
    fake.repo()
    log_in(page, user, f"/tasks/{task_id}")
    box = page.locator(".enrichment.repo")
    expect(box).to_contain_text("unavailable: GitHub answered 500")
    box.get_by_role("button", name="Retry").click()
    expect(box).to_contain_text("★ 1,234 stars")
