"""The daily driver in Chromium: on a 390x844 phone a task is added (with the preview),
completed, edited, moved on the board and deleted (and brought back); on a desktop a card
is dragged to another column; the browser's time zone reaches the server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, log_in, overflow
from webapp.extensions import db
from webapp.models import AuditEvent, StatusChange, Task, User, utcnow

pytestmark = pytest.mark.browser


def stored(app, title: str) -> Task:
    with app.app_context():
        task = db.session.scalar(sa.select(Task).where(Task.title == title))
        task.label_names = [label.name for label in task.labels] if task else []
        db.session.expunge(task)
        return task


def test_phone_user_adds_completes_edits_moves_and_deletes(app, open_page, user):
    page = open_page(PHONE)
    log_in(page, user)

    # Add: the preview says what the line means before Enter.
    page.locator("#quick-title").fill("Call Bob tomorrow !high #work")
    preview = page.locator("#quick-preview")
    expect(preview).to_contain_text("Call Bob")
    expect(preview).to_contain_text("tomorrow")
    expect(preview).to_contain_text("High")
    expect(preview).to_contain_text("#work")
    expect(preview).to_contain_text("(new)")
    page.locator("#quick-title").press("Enter")
    card = page.locator("#task-rows tr", has_text="Call Bob")
    expect(card).to_be_visible()
    expect(card.locator(".label-chip")).to_have_text("#work")
    expect(card.locator("time.due")).to_have_text("tomorrow")
    task = stored(app, "Call Bob")
    assert (task.priority, task.label_names) == ("high", ["work"])
    assert task.due_date == utcnow().date() + timedelta(days=1)
    assert overflow(page) == 0

    # Complete, then edit the title in place.
    card.get_by_role("button", name="Complete Call Bob").click()
    expect(card.locator("select[name=status]")).to_have_value("completed")
    card.get_by_role("button", name="Reopen Call Bob").click()
    expect(card.locator("select[name=status]")).to_have_value("pending")
    card.locator(".task-title").click()
    page.locator(f"#title-edit-{task.id}").fill("Call Bob about the roof")
    page.locator(f"#title-edit-{task.id}").press("Enter")
    edited = page.locator(f"#task-{task.id}")
    expect(edited.locator(".task-title")).to_have_text("Call Bob about the roof")
    # Priority from the row, without the whole form.
    edited.get_by_label("Priority of Call Bob about the roof").select_option("low")
    expect(edited.locator("select.row-select.priority-low")).to_have_count(1)  # re-drawn
    assert stored(app, "Call Bob about the roof").priority == "low"
    assert overflow(page) == 0

    # Move it on the board with its "Move to" menu.
    page.get_by_role("link", name="Board", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks/board$"))
    assert overflow(page) == 0
    board_card = page.locator(f"#card-{task.id}")
    board_card.get_by_label("Move “Call Bob about the roof” to").select_option("in-progress")
    board_card.get_by_role("button", name="Move").click()
    column = page.locator(".cards[data-status=in-progress]")
    expect(column.locator(f"#card-{task.id}")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("Moved “Call Bob about the roof”")
    assert stored(app, "Call Bob about the roof").status == "in-progress"

    # Delete it from the list; Undo brings it back; delete again.
    page.get_by_role("link", name="List", exact=True).click()
    row = page.locator(f"#task-{task.id}")
    row.get_by_role("link", name=re.compile("^Delete")).click()
    expect(row).to_have_count(0)
    toast = page.locator("#undo .toast")
    expect(toast).to_contain_text("Deleted “Call Bob about the roof”.")
    assert overflow(page) == 0
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator(f"#task-{task.id}")).to_be_visible()
    expect(page.locator(f"#task-{task.id} .label-chip")).to_have_text("#work")
    page.locator(f"#task-{task.id}").get_by_role("link", name=re.compile("^Delete")).click()
    expect(page.locator(f"#task-{task.id}")).to_have_count(0)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.target_id == str(task.id)).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["task.delete", "task.restore", "task.delete"]


def test_desktop_user_drags_a_card_to_another_column(app, open_page, user, make_task):
    task_id = make_task(user, "Drag me")
    make_task(user, "Already going", status="in-progress")
    page = open_page(DESKTOP)
    log_in(page, user)
    page.goto("/tasks/board")
    target = page.locator(".cards[data-status=in-progress]")
    page.locator(f"#card-{task_id} .card-meta").drag_to(target)
    expect(target.locator(f"#card-{task_id}")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("Moved “Drag me” to In progress.")
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert (task.status, task.version) == ("in-progress", 2)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange).where(
            StatusChange.task_id == task_id)) == 2
    # After the board is drawn again, the moved card has focus.
    expect(page.locator(f"#card-{task_id}")).to_be_focused()


def test_keyboard_moves_a_card_with_its_move_to_menu(app, open_page, user, make_task):
    task_id = make_task(user, "Keyboard move")
    page = open_page(DESKTOP)
    log_in(page, user)
    page.goto("/tasks/board")
    page.locator(f"#move-{task_id}").focus()
    page.keyboard.press("Tab")
    expect(page.locator(f"#card-{task_id} .move-button")).to_be_focused()
    page.locator(f"#move-{task_id}").select_option("completed")
    page.locator(f"#card-{task_id} .move-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f".cards[data-status=completed] #card-{task_id}")).to_be_visible()
    expect(page.locator(f"#card-{task_id}")).to_be_focused()
    # x on a selected card moves it between Completed and Pending.
    page.keyboard.press("x")
    expect(page.locator(f".cards[data-status=pending] #card-{task_id}")).to_be_visible()
    with app.app_context():
        assert db.session.get(Task, task_id).status == "pending"


def test_browser_time_zone_reaches_the_server_and_its_pages(app, open_page, user, make_task):
    task_id = make_task(user, "Zoned")
    page = open_page(DESKTOP, timezone_id="Asia/Tokyo")
    log_in(page, user)
    with app.app_context():
        assert db.session.get(User, user.id).time_zone == "Asia/Tokyo"
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#task-detail .zone").first).to_have_text("JST")
