"""The JSON API at /api (views.py: reads; tasks.py: task writes; events.py: streams;
spec.py: the declarations behind validation and the OpenAPI document) and its CORS set-up."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from ..extensions import csrf

# What a cross-site script may read from an answer besides the simple headers.
CORS_EXPOSED_HEADERS = [
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
    "ETag", "Location", "Link", "WWW-Authenticate",
]
CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match",
                        "Idempotency-Key", "Last-Event-ID"]


def cors_origins(value: str | None) -> list[str]:
    """The origins allowed by CORS_ORIGINS (comma-separated)."""
    return [origin.strip() for origin in (value or "").split(",") if origin.strip()]


def register_api(app: Flask) -> None:
    """Register the API blueprint. CSRF does not apply to it: writes take a bearer token,
    never a session cookie (spec.py), so a foreign page cannot write with a visitor's
    session."""
    from . import (  # noqa: F401  (their routes join the blueprint)
        accounts,
        attachments,
        comments,
        events,
        tasks,
    )
    from .views import bp

    csrf.exempt(bp)
    app.register_blueprint(bp)
    origins = cors_origins(app.config.get("CORS_ORIGINS"))
    if origins:
        # Bearer tokens, not cookies, so no credentials mode: a foreign page cannot read the
        # API with a visitor's session.
        CORS(app, resources={r"/api/*": {
            "origins": origins,
            "methods": ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
            "allow_headers": CORS_ALLOWED_HEADERS, "expose_headers": CORS_EXPOSED_HEADERS,
            "supports_credentials": False, "max_age": 600,
        }})
