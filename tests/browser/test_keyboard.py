"""Keyboard only, in Chromium: the skip link, every shortcut, where focus goes after each
change, Escape, Undo, and a focus ring that can be seen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def three(user, make_task):
    """Three open tasks; the list shows the newest first: Gamma, Beta, Alpha."""
    return [make_task(user, title) for title in ("Alpha", "Beta", "Gamma")]


def row(page, task_id: int):
    return page.locator(f"#task-{task_id}")


def focused_task(page) -> str | None:
    return page.evaluate("document.activeElement.dataset.task || null")


def test_skip_link_is_the_first_tab_stop_and_jumps_to_the_content(open_page, user, three):
    page = open_page(DESKTOP)
    log_in(page, user)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def test_n_and_slash_focus_their_fields_without_typing_the_key(open_page, user, three):
    page = open_page(DESKTOP)
    log_in(page, user)
    page.locator("body").press("n")
    expect(page.locator("#quick-title")).to_be_focused()
    expect(page.locator("#quick-title")).to_have_value("")
    # Keys typed into a field are text, never shortcuts.
    page.keyboard.type("jkx/b?")
    expect(page.locator("#quick-title")).to_have_value("jkx/b?")
    expect(page.locator("[data-task].selected")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/tasks$"))
    page.keyboard.press("Escape")
    page.locator("#quick-title").evaluate("el => el.blur()")
    page.keyboard.press("/")
    expect(page.locator("#filter-q")).to_be_focused()
    expect(page.locator("#filter-q")).to_have_value("")


def test_j_and_k_move_a_visible_selection(open_page, user, three):
    alpha, beta, gamma = three
    page = open_page(DESKTOP)
    log_in(page, user)
    page.keyboard.press("j")  # the first j selects the first task
    expect(row(page, gamma)).to_have_class(re.compile(r"\bselected\b"))
    expect(row(page, gamma)).to_be_focused()
    page.keyboard.press("j")
    expect(row(page, beta)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last one
    expect(row(page, alpha)).to_be_focused()
    page.keyboard.press("k")
    expect(row(page, beta)).to_be_focused()
    expect(page.locator("[data-task].selected")).to_have_count(1)
    # The selection is drawn: an outline of at least 2 px.
    width = row(page, beta).evaluate("el => parseFloat(getComputedStyle(el).outlineWidth)")
    assert width >= 2


def test_x_completes_the_selected_task_and_focus_moves_to_the_next(open_page, user, three):
    alpha, beta, gamma = three
    page = open_page(DESKTOP)
    log_in(page, user)
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(row(page, gamma).locator(".row-select.status-completed")).to_have_count(1)
    expect(row(page, beta)).to_be_focused()
    # The list refreshes itself: the completed task goes after the open ones, and the
    # selection and focus stay on the task they were on.
    expect(page.locator("#task-rows > tr[data-task]").last).to_have_id(f"task-{gamma}")
    expect(row(page, beta)).to_be_focused()
    expect(row(page, beta)).to_have_class(re.compile(r"\bselected\b"))
    # x on a completed task reopens it.
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(row(page, gamma)).to_be_focused()
    page.keyboard.press("x")
    expect(row(page, gamma).locator("select[name=status]")).to_have_value("pending")


def test_e_opens_the_inline_edit_and_escape_cancels_it(open_page, user, three):
    alpha, beta, gamma = three
    page = open_page(DESKTOP)
    log_in(page, user)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("e")
    title = page.locator(f"#task-{beta}-title")
    expect(title).to_be_focused()  # the inline form's first field
    page.keyboard.type(" (changed)")
    page.keyboard.press("Escape")
    expect(row(page, beta).locator(".task-title")).to_have_text("Beta")
    expect(row(page, beta)).to_be_focused()


def test_clicking_a_title_edits_it_in_place(open_page, user, three):
    alpha, beta, gamma = three
    page = open_page(DESKTOP)
    log_in(page, user)
    row(page, alpha).locator(".task-title").click()
    field = page.locator(f"#title-edit-{alpha}")
    expect(field).to_be_focused()
    field.fill("Alpha, renamed")
    page.keyboard.press("Enter")
    expect(row(page, alpha).locator(".task-title")).to_have_text("Alpha, renamed")
    expect(row(page, alpha)).to_be_focused()
    # Escape cancels a title edit too.
    row(page, alpha).locator(".task-title").click()
    page.locator(f"#title-edit-{alpha}").fill("never saved")
    page.keyboard.press("Escape")
    expect(row(page, alpha).locator(".task-title")).to_have_text("Alpha, renamed")
    expect(row(page, alpha)).to_be_focused()


def test_delete_key_deletes_and_z_brings_it_back(open_page, user, three):
    alpha, beta, gamma = three
    page = open_page(DESKTOP)
    log_in(page, user)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Delete")
    expect(row(page, beta)).to_have_count(0)
    expect(row(page, alpha)).to_be_focused()  # the next task
    toast = page.locator("#undo .toast")
    expect(toast).to_contain_text("Deleted “Beta”.")
    page.keyboard.press("z")
    expect(row(page, beta)).to_be_visible()
    expect(row(page, beta)).to_be_focused()
    expect(page.locator("#undo .toast")).to_have_count(0)
    expect(page.locator("#flash")).to_contain_text("Restored “Beta”.")


def test_deleting_the_last_task_puts_focus_on_the_heading(open_page, user, make_task):
    only = make_task(user, "Only one")
    page = open_page(DESKTOP)
    log_in(page, user)
    page.keyboard.press("j")
    page.keyboard.press("Delete")
    expect(row(page, only)).to_have_count(0)
    expect(page.locator("#list-heading")).to_be_focused()
    # Undo by keyboard: Tab reaches the toast's button too.
    page.locator("#undo .undo-button").focus()
    page.keyboard.press("Enter")
    expect(row(page, only)).to_be_focused()


def test_b_switches_between_list_and_board_and_question_mark_lists_the_keys(
        open_page, user, three):
    page = open_page(DESKTOP)
    log_in(page, user)
    page.goto("/tasks?priority=medium")
    page.keyboard.press("b")
    expect(page).to_have_url(re.compile(r"/tasks/board\?priority=medium$"))
    page.wait_for_load_state()  # the board's script listens for keys once it has loaded
    page.keyboard.press("j")
    expect(page.locator(".card.selected")).to_have_count(1)
    page.keyboard.press("b")
    expect(page).to_have_url(re.compile(r"/tasks\?priority=medium$"))
    page.wait_for_load_state()
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Complete or reopen the selected task")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_focus_ring_is_thick_and_contrasts_with_the_page(open_page, user, three):
    page = open_page(DESKTOP)
    log_in(page, user)
    for selector in ("#quick-title", "button.toggle", ".task-title", "#filter-q"):
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # a keyboard focus, so :focus-visible applies
        ring = page.evaluate("""() => {
            const el = document.activeElement, style = getComputedStyle(el);
            const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
            const lum = (c) => {
                const [r, g, b] = rgb(c).map((v) => { v /= 255;
                    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const page = getComputedStyle(document.body).backgroundColor;
            const [a, b] = [lum(style.outlineColor), lum(page)].sort((x, y) => y - x);
            return {width: parseFloat(style.outlineWidth), style: style.outlineStyle,
                    contrast: (a + 0.05) / (b + 0.05)};
        }""")
        assert ring["style"] != "none" and ring["width"] >= 2, (selector, ring)
        assert ring["contrast"] >= 3, (selector, ring)
