"""Security headers on every answer, and no inline script anywhere (a strict CSP holds)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import url_for
from werkzeug.routing import AnyConverter

from tests.conftest import HTMX, login

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER_ATTR = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)


def assert_strict_page(resp, url: str) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    if csp.startswith("sandbox"):
        # A stored file or its preview (webapp/attachments/http.py): nothing in it may run.
        assert "default-src 'none'" in csp, url
        assert resp.headers["X-Content-Type-Options"] == "nosniff", url
        return
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
    html = resp.get_data(as_text=True)
    for pattern in (INLINE_SCRIPT, HANDLER_ATTR, STYLE_ATTR, JS_URL):
        assert not pattern.search(html), f"{url}: {pattern.pattern}"


def sample_value(rule, name: str, ids: dict[str, int]):
    """A value for a URL argument: a known id, or one of an `any(...)` converter's items."""
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if name in ids:
        return ids[name]
    pytest.fail(f"give this test a value for <{name}> of {rule.rule}")


def page_urls(app, ids: dict[str, int]) -> list[str]:
    """Every GET page of the app, ids filled in, plus unknown URLs (the 404 page)."""
    urls = ["/no-such-page", f"/tasks/{ids['task_id'] + 1000}"]
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        args = {name: sample_value(rule, name, ids) for name in rule.arguments}
        with app.test_request_context():
            urls.append(url_for(rule.endpoint, **args))
    return urls


def add_file_and_comment(app, owner, task_id: int) -> tuple[int, int]:
    """A picture and a comment on the task, so their pages are checked too."""
    from io import BytesIO

    from PIL import Image

    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import attachments, comments

    picture = BytesIO()
    Image.new("RGB", (20, 10)).save(picture, "PNG")
    picture.seek(0)
    with app.app_context():
        actor = db.session.get(User, owner.id)
        [attachment] = attachments.upload_attachments(
            actor, task_id, [attachments.IncomingFile("picture.png", picture)])
        comment = comments.add_comment(actor, task_id, "A *comment*")
        ids = attachment.id, comment.id
        db.session.remove()
    return ids


@pytest.mark.parametrize("role", ["anonymous", "user", "admin"])
def test_every_page_has_csp_and_no_inline_script(app, client, make_user, make_task, role):
    owner = make_user("pageowner", role="admin" if role == "admin" else "user")
    task_id = make_task(owner, "Page check", description="Body")
    attachment_id, comment_id = add_file_and_comment(app, owner, task_id)
    if role != "anonymous":
        assert login(client, owner).status_code == 303
        client.logged_in = True
    urls = page_urls(app, {"task_id": task_id, "user_id": owner.id,
                           "attachment_id": attachment_id, "comment_id": comment_id})
    assert len(urls) >= 10
    for url in urls:
        for headers in ({}, HTMX):
            resp = client.get(url, headers=headers, follow_redirects=True, buffered=True)
            assert resp.status_code < 500, url
            assert_strict_page(resp, url)


def test_templates_have_no_inline_script_or_handler():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, HANDLER_ATTR, STYLE_ATTR, JS_URL):
            assert not pattern.search(text), f"{path.name}: {pattern.pattern}"


@pytest.mark.parametrize("url", ["/auth/login", "/health", "/api/no-such-endpoint",
                                 "/static/js/app.js"])
def test_answers_carry_the_security_headers(client, url):
    resp = client.get(url)
    resp.close()
    headers = resp.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain HTTP in development and tests


def test_api_error_is_json_with_the_security_headers(client):
    resp = client.get("/api/no-such-endpoint")
    assert resp.status_code == 404
    assert resp.json["code"] == "not_found"
    assert "Content-Security-Policy" in resp.headers


def test_hsts_is_sent_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "HSTS_SECONDS", 31536000)
    resp = client.get("/auth/login")
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_htmx_injects_no_indicator_style(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert '"includeIndicatorStyles": false' in html
