"""Live pages in Chromium on the development server (`make run`): an inline edit survives a
change made elsewhere and says so; the list's count is right after the user's own quick adds
and deletes even without a stream; where the stream never gets through, the page polls."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_log_in
from webapp.extensions import db
from webapp.models import User
from webapp.services import tasks as task_service

pytestmark = pytest.mark.browser


@pytest.fixture
def live_page(page, live_config):
    live_config(LIVE_STREAM_MAX_SECONDS=120, LIVE_POLL_SECONDS=0.5,
                LIVE_CONNECT_TIMEOUT_SECONDS=1.5)
    return page


@pytest.fixture
def elsewhere(app):
    """Changes made by someone else (another tab, a script): straight through the services."""

    class Elsewhere:
        def create(self, owner, title) -> int:
            with app.app_context():
                task = task_service.create_task(db.session.get(User, owner.id),
                                                task_service.TaskData(title=title))
                task_id = task.id
                db.session.remove()
                return task_id

        def rename(self, owner, task_id, title):
            with app.app_context():
                task_service.update_task(db.session.get(User, owner.id), task_id,
                                         task_service.TaskData(title=title), None)
                db.session.remove()

    return Elsewhere()


def test_inline_edit_keeps_what_was_typed_when_the_task_changes_elsewhere(
        live_page, user, elsewhere):
    page = live_page
    edited = elsewhere.create(user, "Draft the plan")
    other = elsewhere.create(user, "Book the room")
    browser_log_in(page, user)
    expect(page.locator("main")).to_have_attribute("data-live-state", "stream")
    row = page.locator(f"#task-{edited}")
    row.get_by_role("link", name="Edit").click()
    title = page.locator("tr.editing").get_by_label("Title")
    title.fill("My half-typed title")

    elsewhere.rename(user, edited, "Plan drafted by a colleague")
    elsewhere.rename(user, other, "Room booked")

    # The rest of the list follows; the row being edited keeps the typed value and says so.
    expect(page.locator(f"#task-{other}")).to_contain_text("Room booked", timeout=2000)
    notice = page.locator("tr.editing").get_by_text("This task was changed elsewhere.")
    expect(notice).to_be_visible(timeout=2000)
    expect(title).to_have_value("My half-typed title")

    page.locator("tr.editing").get_by_role("link", name="Load the new values").click()
    expect(page.locator("tr.editing").get_by_label("Title")).to_have_value(
        "Plan drafted by a colleague")
    expect(page.locator("tr.editing").get_by_text(
        "This task was changed elsewhere.")).to_be_hidden()


def test_count_follows_own_quick_adds_and_deletes_without_a_stream(live_page, user):
    page = live_page
    page.route("**/live/events**", lambda route: route.abort())  # no stream at all
    browser_log_in(page, user)
    count = page.locator("#task-count")
    expect(count).to_have_text("0 tasks")

    for title in ("One", "Two", "Three"):
        page.locator("#quick-title").fill(title)
        page.get_by_role("button", name="Add task").click()
        expect(page.locator("#task-rows tr", has_text=title)).to_be_visible()
    expect(count).to_have_text("3 tasks")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#task-rows tr", has_text="Two").get_by_role("link", name="Delete").click()
    expect(page.locator("#task-rows tr")).to_have_count(2)
    expect(count).to_have_text("2 tasks")


def test_page_polls_when_the_stream_never_gets_through(live_page, user, other_user, elsewhere):
    page = live_page
    # A proxy that buffers the stream: the request is sent, nothing ever comes back.
    page.route("**/live/events**", lambda route: None)
    polls: list[int] = []
    page.on("response", lambda resp: polls.append(resp.status) if "/live/poll" in resp.url
            else None)
    browser_log_in(page, user)
    expect(page.locator("main")).to_have_attribute("data-live-state", "polling")
    page.wait_for_timeout(1200)  # a few polls with nothing new
    assert 204 in polls and set(polls) <= {200, 204}

    elsewhere.create(other_user, "Not mine")  # other users' changes: still 204
    task_id = elsewhere.create(user, "Arrived by polling")

    expect(page.locator(f"#task-{task_id}")).to_be_visible(timeout=2000)
    expect(page.locator("#task-count")).to_have_text("1 task")
    expect(page.get_by_text("Not mine")).to_have_count(0)


def test_task_page_follows_its_task_and_says_when_it_is_gone(live_page, user, elsewhere,
                                                             app):
    page = live_page
    task_id = elsewhere.create(user, "Watch me")
    browser_log_in(page, user)
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("main")).to_have_attribute("data-live-state", "stream")

    elsewhere.rename(user, task_id, "Watched and renamed")
    expect(page.locator("#task-detail h1")).to_have_text("Watched and renamed", timeout=2000)

    with app.app_context():
        task_service.delete_task(db.session.get(User, user.id), task_id)
        db.session.remove()
    expect(page.get_by_text("This task was deleted or is no longer yours to see.")).to_be_visible(
        timeout=2000)


def test_filtered_list_drops_a_task_that_stops_matching(live_page, user, elsewhere, app):
    page = live_page
    staying = elsewhere.create(user, "Still pending")
    leaving = elsewhere.create(user, "About to be done")
    browser_log_in(page, user)
    page.goto("/tasks?status=pending")
    expect(page.locator("main")).to_have_attribute("data-live-state", "stream")
    expect(page.locator("#task-count")).to_contain_text("2 tasks")

    with app.app_context():
        task_service.set_completed(db.session.get(User, user.id), leaving, True)
        db.session.remove()

    expect(page.locator(f"#task-{leaving}")).to_have_count(0, timeout=2000)
    expect(page.locator(f"#task-{staying}")).to_be_visible()
    expect(page.locator("#task-count")).to_contain_text("1 task")
