"""In Chromium: a user creates and revokes an API token on the account page (htmx), and
/api/docs renders the OpenAPI document with Swagger UI from the project's own assets."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import browser_log_in as log_in

pytestmark = pytest.mark.browser


def test_user_creates_uses_and_revokes_a_token_in_the_browser(page, live_server, user):
    log_in(page, user)
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Token name").fill("laptop script")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").input_value()
    assert secret.startswith("td_")
    expect(page.locator("#token-list")).to_contain_text("laptop script")
    headers = {"Authorization": f"Bearer {secret}"}
    assert requests.get(f"{live_server}/api/stats", headers=headers, timeout=5).status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke laptop script").click()
    expect(page.locator("#flash")).to_contain_text("Revoked the token")
    expect(page.locator("#token-list")).not_to_contain_text("laptop script")
    assert requests.get(f"{live_server}/api/stats", headers=headers, timeout=5).status_code == 401


def test_api_docs_render_the_document(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Taskdeck API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert not errors


def test_user_creates_a_token_that_may_write(page, live_server, user):
    log_in(page, user)
    page.goto("/account")
    page.get_by_label("Token name").fill("deploy script")
    page.get_by_label("Allow changes").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").input_value()
    expect(page.locator("#token-list")).to_contain_text("read and write")
    created = requests.post(f"{live_server}/api/tasks", json={"title": "From the script"},
                            headers={"Authorization": f"Bearer {secret}"}, timeout=5)
    assert created.status_code == 201


def test_api_docs_offer_to_authorize_with_a_token(page):
    page.goto("/api/docs")
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.locator(".auth-container").first).to_contain_text("bearerToken")
