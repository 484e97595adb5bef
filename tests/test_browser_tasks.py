"""The main user flow in Chromium: register, log in, and manage tasks without page loads."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def mark_page(page):
    """Leave a marker in the page's JavaScript state; a full page load would erase it."""
    page.evaluate("window.__taskdeckMarker = 'still here'")


def assert_no_page_load(page):
    assert page.evaluate("window.__taskdeckMarker") == "still here"


def register_and_log_in(page, username="brenda"):
    page.goto("/auth/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Display name").fill("Brenda Browser")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))


def test_user_manages_a_task_from_register_to_logout(page):
    register_and_log_in(page)
    expect(page.locator("#task-count")).to_have_text("0 tasks")
    mark_page(page)

    # Quick add: the row appears and the form is emptied, without a page load.
    page.locator("#quick-title").fill("Buy birthday cake")
    page.get_by_role("button", name="Add task").click()
    row = page.locator("#task-rows tr", has_text="Buy birthday cake")
    expect(row).to_be_visible()
    expect(page.locator("#quick-title")).to_have_value("")
    expect(page.locator("#flash")).to_contain_text("Added “Buy birthday cake”.")
    assert_no_page_load(page)

    # A validation error shows next to the field and keeps the page.
    page.locator("#quick-title").fill("   ")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#quick-title-errors")).to_contain_text("Title is required.")
    expect(page.locator("#task-rows tr")).to_have_count(1)
    assert_no_page_load(page)

    # Complete it: only the row changes.
    row.get_by_role("button", name="Complete Buy birthday cake").click()
    expect(row.locator("select[name=status]")).to_have_value("completed")
    assert_no_page_load(page)

    # Edit it inline (the whole form, one click away).
    row.get_by_role("link", name="Edit Buy birthday cake").click()
    editing = page.locator("tr.editing")
    editing.get_by_label("Title").fill("Buy chocolate cake")
    editing.get_by_label("Priority").select_option("high")
    editing.get_by_role("button", name="Save").click()
    edited = page.locator("#task-rows tr", has_text="Buy chocolate cake")
    expect(edited.locator("select[name=priority]")).to_have_value("high")
    assert_no_page_load(page)

    # Delete it: gone at once, with Undo offered instead of a question.
    edited.get_by_role("link", name="Delete Buy chocolate cake").click()
    expect(page.locator("#task-rows tr")).to_have_count(0)
    expect(page.locator("#undo")).to_contain_text("Deleted “Buy chocolate cake”.")
    assert_no_page_load(page)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    page.goto("/tasks")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))


def test_undoing_a_delete_keeps_the_task(page):
    register_and_log_in(page, "carla")
    page.locator("#quick-title").fill("Keep me")
    page.get_by_role("button", name="Add task").click()
    row = page.locator("#task-rows tr", has_text="Keep me")
    expect(row).to_be_visible()
    row.get_by_role("link", name="Delete Keep me").click()
    expect(row).to_have_count(0)
    page.locator("#undo").get_by_role("button", name="Undo").click()
    expect(page.locator("#task-rows tr", has_text="Keep me")).to_be_visible()
    page.reload()
    expect(page.locator("#task-rows tr", has_text="Keep me")).to_be_visible()
