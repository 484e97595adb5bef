"""Helpers for answering htmx requests and plain requests from one view."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template, request


def wants_fragment() -> bool:
    """True for htmx requests that swap part of a page (not boosted or history restores)."""
    h = request.headers
    return (
        h.get("HX-Request") == "true"
        and h.get("HX-Boosted") != "true"
        and h.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context) -> Response:
    """Render the fragment for htmx requests, the full page otherwise."""
    html = render_template(fragment if wants_fragment() else page, **context)
    resp = make_response(html, status)
    resp.vary.add("HX-Request")  # caches must key on the header
    return resp


def push_url_unless_current(resp: Response, canonical: str) -> Response:
    """Have htmx put the canonical URL of what it asked for in the address bar, unless it asked
    for exactly that URL: a live refresh of the same view must not add a history entry."""
    if request.full_path.rstrip("?") != canonical:
        resp.headers["HX-Push-Url"] = canonical
    return resp


# Sent with every successful htmx write of a task: the page's live fragments (the list's
# rows, its "N tasks" count and pager) refresh themselves even without a live stream.
TASKS_CHANGED_TRIGGER = "taskdeck:tasks-changed"


def safe_next_url(target: str | None, fallback: str) -> str:
    """Return target when it is a local path on this site, else the fallback."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target:
        return fallback
    return target


def redirect_after_post(url: str) -> Response:
    """Post/redirect/get: a 303 sends the browser to the page with a GET."""
    return redirect(url, code=303)
