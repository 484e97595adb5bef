"""Browser tests (Playwright + Chromium): account administration with htmx."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_log_in as log_in

pytestmark = pytest.mark.browser


def test_admin_promotes_and_deactivates_a_user_in_place(page, admin, user, make_task):
    make_task(user, "one", status="completed")
    log_in(page, admin)
    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    row = page.locator(f"#user-{user.id}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Alice Example")

    row.get_by_label(f"Role of {user.username}").select_option("admin")
    row.get_by_role("button", name="Save role").click()
    expect(page.locator("#flash")).to_contain_text("Alice Example is now admin.")
    expect(page.locator(f"#user-{user.id}").get_by_label(f"Role of {user.username}")
           ).to_have_value("admin")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#user-{user.id}").get_by_role("button", name="Deactivate").click()
    expect(page.locator("#flash")).to_contain_text("Alice Example is deactivated.")
    expect(page.locator(f"#user-{user.id}")).to_contain_text("Deactivated")
    expect(page.locator(f"#user-{user.id}").get_by_role("button", name="Reactivate")
           ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/users$"))


def test_admin_sees_the_per_user_table_on_the_dashboard(page, admin, user, make_task):
    make_task(user, "one")
    log_in(page, admin)
    page.goto("/dashboard")
    expect(page.locator("#user-table")).to_be_visible()
    page.locator(f"#user-row-{user.id}").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/dashboard\?user={user.id}$"))
    expect(page.locator("#period-summary")).to_contain_text("owned by Alice Example")
    expect(page.locator("#stat-total")).to_have_text("1")
