"""Phone-first layout in Chromium: at 390x844 and 1280x800 no page scrolls sideways, the
first task is on the first screen, and on a phone the navigation waits behind "Menu"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, log_in, overflow

pytestmark = pytest.mark.browser

LONG_TITLE = ("Prepare the supercalifragilisticexpialidocious quarterly report for the "
              "board with every appendix")


def main_pages(task_id: int) -> list[str]:
    return ["/tasks", "/tasks/board", f"/tasks/{task_id}", f"/tasks/{task_id}/edit",
            "/tasks/new", f"/tasks/{task_id}/delete", f"/tasks/{task_id}/labels", "/labels",
            "/dashboard", "/account", "/auth/password", "/admin/users", "/admin/audit"]


@pytest.fixture
def admin_tasks(admin, make_task):
    """An admin with a few tasks: long words, labels, dates, every status."""
    first = make_task(admin, LONG_TITLE, priority="high", labels=["reports", "board-work"],
                      city="Reykjavik", repo="pallets/flask")
    make_task(admin, "Second task", status="in-progress", labels=["misc"])
    make_task(admin, "Done task", status="completed")
    return first


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_every_main_page_fits_the_screen(open_page, admin, admin_tasks, viewport):
    page = open_page(viewport)
    log_in(page, admin)
    for path in main_pages(admin_tasks):
        page.goto(path)
        assert overflow(page) == 0, f"{path} is wider than {viewport['width']} px"
    # The first task is on the first screen, in the list and on the board.
    for path, first in (("/tasks", "#task-rows [data-task]"), ("/tasks/board", ".card")):
        page.goto(path)
        box = page.locator(first).first.bounding_box()
        assert box and box["y"] + min(box["height"], 40) <= viewport["height"], path
    page.goto("/tasks")
    if viewport is PHONE:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Log out").click()
    for path in ("/auth/login", "/auth/register"):
        page.goto(path)
        assert overflow(page) == 0, path


def test_phone_menu_hides_the_navigation_until_opened(open_page, user, make_task):
    make_task(user, "Something")
    page = open_page(PHONE)
    log_in(page, user)
    nav_links = page.get_by_role("navigation", name="Main").get_by_role("link")
    # Only the brand shows before "Menu" is opened.
    expect(nav_links.filter(has_text="Dashboard")).to_be_hidden()
    expect(page.get_by_role("link", name="Labels", exact=True)).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("link", name="Dashboard")).to_be_hidden()
    # Escape closes it again and gives focus back to the button.
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Labels").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Labels")).to_be_hidden()
    expect(page.get_by_role("button", name="Menu")).to_be_focused()


def test_desktop_keeps_the_table_and_the_links(open_page, user, make_task):
    make_task(user, "Something")
    page = open_page(DESKTOP)
    log_in(page, user)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Title")).to_be_visible()
