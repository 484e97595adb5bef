"""Security headers on every response.

A few lines of `after_request` rather than Flask-Talisman: the whole policy is readable here.
"""

from __future__ import annotations

from flask import Flask, current_app

# Scripts and styles only from our own origin: no inline script, handler or style attribute
# (htmx is configured in base.html not to inject its indicator <style>). Pico's icons are
# data: SVG images.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def register_security(app: Flask) -> None:
    """Install the header hook (malformed input is refused earlier, in request_guard)."""
    app.after_request(add_security_headers)


def add_security_headers(response):
    """Set the CSP and the other security headers on every response."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    hsts = current_app.config.get("HSTS_SECONDS")
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
    return response
