"""The read-only JSON API at /api (see views.py) and its CORS set-up."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

from ..extensions import csrf

# What a cross-site script may read from an answer besides the simple headers.
CORS_EXPOSED_HEADERS = [
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
]


def cors_origins(value: str | None) -> list[str]:
    """The origins allowed by CORS_ORIGINS (comma-separated)."""
    return [origin.strip() for origin in (value or "").split(",") if origin.strip()]


def register_api(app: Flask) -> None:
    """Register the API blueprint; CSRF does not apply to it (GET only, no cookies needed)."""
    from . import events  # noqa: F401  (adds /api/events and /api/ws to the blueprint)
    from .views import bp

    csrf.exempt(bp)
    app.register_blueprint(bp)
    origins = cors_origins(app.config.get("CORS_ORIGINS"))
    if origins:
        # Bearer tokens, not cookies, so no credentials mode: a foreign page cannot read the
        # API with a visitor's session.
        CORS(app, resources={r"/api/*": {
            "origins": origins, "methods": ["GET", "HEAD", "OPTIONS"],
            "allow_headers": ["Authorization"], "expose_headers": CORS_EXPOSED_HEADERS,
            "supports_credentials": False, "max_age": 600,
        }})
