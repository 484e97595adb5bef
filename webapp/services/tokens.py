"""Personal API tokens: created for a user, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import SCOPE_READ, SCOPE_READ_WRITE, TOKEN_SCOPES, ApiToken, User, utcnow
from . import audit
from .errors import Invalid, NotFound
from .task_queries import start_of_day
from .text import VISIBLE_MESSAGE, has_visible_character

__all__ = ["SCOPE_READ", "SCOPE_READ_WRITE", "create_token", "authenticate_token"]

# "td_" marks a Taskdeck token (secret scanners and people can tell what leaked).
TOKEN_MARK = "td_"  # noqa: S105 (a label, not a secret)
PREFIX_LENGTH = 10  # "td_" + 7 characters, shown in the token list to tell tokens apart
NAME_MAX = 100
MAX_EXPIRY_DAYS = 5 * 366
# Tokens handed out by a login (POST /api/auth/token) live hours, not years.
LOGIN_TOKEN_DEFAULT_HOURS = 24
LOGIN_TOKEN_MAX_HOURS = 30 * 24
TOKEN_MAX_LENGTH = 200
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    """The stored form of a token: a SHA-256 hex digest (tokens are long random strings)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(owner: User, name: str, expires_on: date | None = None,
                 scope: str = SCOPE_READ, lifetime: timedelta | None = None
                 ) -> tuple[ApiToken, str]:
    """Create a token for the owner; returns the row and the secret, which is never stored.
    `scope` is "read" or "read write" (SCOPE_READ_WRITE: the token may change things).
    It expires at the end of `expires_on` (UTC), or `lifetime` from now (a login's token,
    see login_token_lifetime), or never."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the token a name."]
    elif not has_visible_character(name):
        errors["name"] = [f"The name {VISIBLE_MESSAGE}."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"The name must be at most {NAME_MAX} characters."]
    today = utcnow().date()
    if expires_on is not None and expires_on < today:
        errors["expires_on"] = ["The expiry date must be today or later."]
    elif expires_on is not None and expires_on > today + timedelta(days=MAX_EXPIRY_DAYS):
        errors["expires_on"] = ["The expiry date must be within five years."]
    if scope not in TOKEN_SCOPES:
        errors["scope"] = [f"The scope must be one of: {', '.join(TOKEN_SCOPES)}."]
    if errors:
        raise Invalid(errors)
    raw = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=owner.id,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        # Valid through the whole expiry day (UTC).
        expires_at=(start_of_day(expires_on + timedelta(days=1)) if expires_on
                    else utcnow() + lifetime if lifetime else None),
        scope=scope,
    )
    db.session.add(token)
    audit.record(owner, "token.create", token, {"name": name, "scope": scope})
    db.session.commit()
    return token, raw


def login_token_lifetime(hours: int | None) -> timedelta:
    """How long a login's token lives: `hours` (default LOGIN_TOKEN_DEFAULT_HOURS), at most
    LOGIN_TOKEN_MAX_HOURS (30 days); Invalid otherwise."""
    if hours is None:
        hours = LOGIN_TOKEN_DEFAULT_HOURS
    if not 1 <= hours <= LOGIN_TOKEN_MAX_HOURS:
        raise Invalid({"expires_in_hours": [
            f"A token lives from 1 to {LOGIN_TOKEN_MAX_HOURS} hours (30 days)."]})
    return timedelta(hours=hours)


# The token and its owner in one statement (an inner join: every token has an owner), built
# once: constructing the SELECT and its loader options on every API request cost more Python
# time than PostgreSQL takes to answer it (bench/profile.py, docs/BENCHMARKS.md).
_TOKEN_BY_HASH = (
    sa.select(ApiToken)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
    .options(joinedload(ApiToken.user, innerjoin=True))
)


def authenticate_token(raw: str) -> ApiToken | None:
    """Return the token for this secret if it is live: not revoked, not expired, owner active."""
    raw = (raw or "").strip()
    if not raw.startswith(TOKEN_MARK) or len(raw) > TOKEN_MAX_LENGTH:
        return None
    token = db.session.scalar(_TOKEN_BY_HASH, {"token_hash": hash_token(raw)})
    now = utcnow()
    if token is None or not is_live(token, now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
        db.session.commit()
    return token


def is_live(token: ApiToken, now=None) -> bool:
    """Whether the token opens the API: not revoked, not expired, its owner active."""
    now = now or utcnow()
    return (
        token.revoked_at is None
        and (token.expires_at is None or token.expires_at > now)
        and token.user.is_active
    )


def live_token(token_id: int) -> ApiToken | None:
    """The token with this id if it still opens the API (an open stream checks its own)."""
    token = db.session.get(ApiToken, token_id, options=[joinedload(ApiToken.user)])
    return token if token is not None and is_live(token) else None


def tokens_of(actor: User) -> list[ApiToken]:
    """The actor's tokens that are not revoked, newest first (expired ones included)."""
    return list(db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ))


def revoke_token(actor: User, token_id: int, commit: bool = True) -> ApiToken:
    """Revoke one of the actor's tokens; another user's token is reported as absent."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "token.revoke", token)
    if commit:
        db.session.commit()
    return token


def log_out_token(actor: User, token_id: int) -> ApiToken:
    """End one of the actor's tokens for good (a script's logout): revoked, and recorded as
    a logout, in one transaction. The actor's other tokens and sessions go on."""
    token = revoke_token(actor, token_id, commit=False)
    audit.record(actor, "auth.logout", actor, {"token_id": token.id})
    db.session.commit()
    return token


def is_expired(token: ApiToken) -> bool:
    """Whether the token's expiry has passed (for showing it in the list)."""
    return token.expires_at is not None and token.expires_at <= utcnow()
