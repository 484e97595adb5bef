"""Browser tests (Playwright + Chromium): the filter bar and the dashboard period with htmx."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_log_in as log_in
from tests.factories import add_task
from webapp.extensions import db
from webapp.models import utcnow

pytestmark = pytest.mark.browser


def bar(page):
    """The filter bar (the quick-add form above it has a Priority field too)."""
    return page.locator("#task-filters")


@pytest.fixture
def mixed(user, make_task):
    for n in range(4):
        make_task(user, f"Groceries {n}", priority="high")
    for n in range(3):
        make_task(user, f"Paperwork {n}", priority="low", status="completed")
    make_task(user, "Call the plumber", priority="medium")


def test_user_search_updates_the_list_and_the_url_as_they_type(page, user, mixed):
    log_in(page, user)
    page.wait_for_load_state("networkidle")
    expect(page.locator("#task-count")).to_have_text("8 tasks")
    bar(page).get_by_label("Search").press_sequentially("plumb", delay=30)
    expect(page.locator("#task-count")).to_have_text("1 task matches the filters")
    expect(page).to_have_url(re.compile(r"/tasks\?q=plumb$"))
    expect(page.locator("#task-rows tr")).to_have_count(1)
    # The filter bar was not reloaded: the text is still being typed into the same field.
    expect(bar(page).get_by_label("Search")).to_be_focused()


def test_user_filter_change_updates_the_list_and_back_restores_it(page, user, mixed):
    log_in(page, user)
    page.wait_for_load_state("networkidle")
    bar(page).get_by_role("button", name="Filters").click()  # the form opens on demand
    bar(page).get_by_label("Priority").select_option("high")
    expect(page.locator("#task-count")).to_have_text("4 tasks match the filters")
    expect(page).to_have_url(re.compile(r"/tasks\?priority=high$"))
    expect(page.locator(".chips")).to_contain_text("Priority: High")
    bar(page).get_by_label("Status").select_option("completed")
    expect(page.locator("#task-count")).to_have_text("0 tasks match the filters")
    expect(page.locator("#empty-state")).to_contain_text("No tasks match these filters.")
    expect(page).to_have_url(re.compile(r"status=completed"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"/tasks\?priority=high$"))
    expect(page.locator("#task-count")).to_have_text("4 tasks match the filters")
    expect(bar(page).get_by_label("Status")).to_have_value("")
    expect(bar(page).get_by_label("Priority")).to_have_value("high")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator("#task-count")).to_have_text("8 tasks")
    expect(bar(page).get_by_label("Priority")).to_have_value("")


def test_user_pages_keep_the_filters_and_push_the_url(page, user, make_task):
    for n in range(12):
        make_task(user, f"Item {n:02d}", priority="high" if n % 2 else "low")
    log_in(page, user)
    page.goto("/tasks?priority=high&per_page=4&sort=title&order=asc")
    expect(page.locator("#task-rows tr")).to_have_count(4)
    page.get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page).to_have_url(re.compile(r"priority=high"))
    expect(page.locator("#task-rows tr").first).to_contain_text("Item 09")


def test_user_changes_the_dashboard_period_and_the_figures_follow(page, user, app):
    with app.app_context():
        now = utcnow()
        for days in (1, 2, 3):
            add_task(user.id, f"recent {days}", now - timedelta(days=days))
        for days in (40, 50):
            add_task(user.id, f"older {days}", now - timedelta(days=days), "completed",
                     completions=(now - timedelta(days=days - 1),))
        db.session.commit()
    log_in(page, user)
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("#stat-total")).to_have_text("3")
    page.get_by_role("link", name="90 days").click()
    expect(page.locator("#stat-total")).to_have_text("5")
    expect(page.locator("#stat-rate")).to_have_text("40%")
    expect(page).to_have_url(re.compile(r"/dashboard\?period=90$"))
    start = (now - timedelta(days=45)).date().isoformat()
    end = (now - timedelta(days=35)).date().isoformat()
    page.get_by_label("From").fill(start)
    page.get_by_label("To").fill(end)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#stat-total")).to_have_text("1")
    expect(page).to_have_url(re.compile(rf"start={start}&end={end}"))
    page.go_back()
    expect(page.locator("#stat-total")).to_have_text("5")
