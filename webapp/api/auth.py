"""Who is calling the API: a bearer token, or the logged-in browser session.

Only the API blueprint reads the Authorization header, so bearer tokens never open a page.
The rate limiter asks first (its key is the user), so the answer is kept in `g` for the rest
of the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..errors import rollback_quietly
from ..models import ApiToken, User
from ..services.tokens import authenticate_token


@dataclass(frozen=True)
class Caller:
    """The outcome of reading the credentials of an API request."""

    user: User | None = None
    token: ApiToken | None = None
    problem: str | None = None  # why credentials were refused, None when absent or accepted


def api_caller() -> Caller:
    """The user (and token) behind this API request, read once per request."""
    if "api_caller" not in g:
        try:
            g.api_caller = _read_credentials()
        except SQLAlchemyError:
            # The rate limiter asks first and swallows errors: leave no failed transaction
            # behind for the view's own call, which then answers 503 or succeeds.
            rollback_quietly()
            raise
    return g.api_caller


def _read_credentials() -> Caller:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return Caller(problem="Send the token as: Authorization: Bearer <token>.")
        token = authenticate_token(value)
        if token is None:
            return Caller(problem="The token is invalid, expired or revoked.")
        return Caller(user=token.user, token=token)
    if current_user.is_authenticated:
        return Caller(user=current_user._get_current_object())
    return Caller()


def rate_limit_key() -> str:
    """Rate-limit bucket: the user (one budget for all their tokens and their browser
    session, so more tokens are not more requests), else the client address."""
    caller = api_caller()
    if caller.user is not None:
        return f"user:{caller.user.id}"
    return f"ip:{get_remote_address()}"
