"""axe-core (from npm, `make test` installs it) on every page of our own, in light and in
dark mode: no violation of impact serious or critical."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.browser.conftest import DESKTOP, PHONE, log_in
from tests.browser.test_layout import main_pages
from tests.servers import ROOT
from webapp.extensions import db
from webapp.models import Task, utcnow

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[str]:
    """Serious and critical violations on the page, as "rule: target" lines."""
    # evaluate() runs outside the page's CSP, which rightly refuses inline scripts.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {node['target']} {node.get('failureSummary', '')}"
            for v in results["violations"] if v["impact"] in ("serious", "critical")
            for node in v["nodes"]]


@pytest.fixture
def seeded(app, admin, make_task):
    first = make_task(admin, "Quarterly report", priority="high", labels=["work", "q4"],
                      city="Oslo", repo="pallets/flask")
    make_task(admin, "Book flights", status="in-progress", labels=["travel"])
    make_task(admin, "Renew domain", status="completed")
    with app.app_context():  # the "unavailable" enrichment text (once 3.08:1 in orange)
        db.session.execute(sa.update(Task).where(Task.id == first).values(
            weather_status="unavailable", weather_error="timeout", weather_fetched_at=utcnow(),
            repo_status="not_found", repo_fetched_at=utcnow()))
        db.session.commit()
    return first


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violation_on_any_page(open_page, admin, seeded, scheme):
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run `make test` (or `make setup-dev`)")
    found: dict[str, list[str]] = {}
    page = open_page(DESKTOP, color_scheme=scheme)
    log_in(page, admin)
    for path in main_pages(seeded):
        page.goto(path)
        found[path] = axe_violations(page)
    # The states that only exist after an action: the Undo toast, a row in edit, the
    # preview of the quick add, the shortcuts list, the phone menu.
    page.goto("/tasks")
    page.locator("#quick-title").fill("Call Bob tomorrow !high #work")
    page.locator("#quick-preview dl").wait_for()
    page.locator(f"#task-{seeded} .task-title").click()
    page.locator(f"#title-edit-{seeded}").wait_for()
    found["/tasks (editing, preview)"] = axe_violations(page)
    page.keyboard.press("Escape")
    page.locator(".delete-link").last.click()
    page.locator("#undo .toast").wait_for()
    found["/tasks (undo toast)"] = axe_violations(page)
    page.locator("body").press("?")
    found["/tasks (shortcuts)"] = axe_violations(page)
    phone = open_page(PHONE, color_scheme=scheme)
    log_in(phone, admin)
    phone.get_by_role("button", name="Menu").click()
    found["/tasks (phone, menu open)"] = axe_violations(phone)
    phone.goto("/tasks/board")
    found["/tasks/board (phone)"] = axe_violations(phone)
    phone.get_by_role("button", name="Menu").click()
    phone.get_by_role("button", name="Log out").click()
    for path in ("/auth/login", "/auth/register"):
        phone.goto(path)
        found[path] = axe_violations(phone)
    problems = [f"{path}: {line[:300]}" for path, lines in found.items() for line in lines]
    assert not problems, "\n".join(problems)
