"""The audit trail: who did what to which object, from where.

`record()` adds an AuditEvent to the caller's transaction, so the event is stored exactly when
the change it describes is; once that transaction commits, the event is also written as a
JSON log line (logger "webapp.audit"). Actions, as stored in `AuditEvent.action`:

- task.create, task.update (changes: {field: [old, new]} for the changed fields only; a move
  on the board or an inline edit is an update too), task.delete (the task goes to the bin),
  task.restore (Undo), task.complete, task.reopen
- label.create, label.update (rename, recolour), label.delete
- auth.login, auth.login_failed (actor None; target the account when it exists, changes
  {"username": typed}), auth.logout, auth.password_change
- auth.login_throttled (actor None, target the account): its failed-login budget for unknown
  browsers (or one device's) was used up: the account is under attack; once per window.
  changes {"username", "budget", "limit", "retry_after_seconds"}
- auth.password_check_throttled (actor None, target the account): too many wrong current
  passwords on /auth/password; the account's sessions were ended; once per window
- user.create (registration or CLI), user.role_change (changes {"role": [old, new]}),
  user.activate, user.deactivate
- token.create, token.revoke (target the ApiToken; never the token itself)
- attachment.create, attachment.delete (changes: task_id, filename, size; the file's
  content never)
- comment.create, comment.update, comment.delete (changes: task_id; the text never, it
  stays on the comment)

The source IP is not read from the request here (services do not know about HTTP): the web
layer binds it for the duration of a request with `bind_source_ip()` (see webapp.logging);
events from the command line have none. Likewise `bind_api_token()` marks the events of an
API request made with a token: their changes carry `"via": "api"` and `"token"`, the token's
visible prefix (never the token).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from pydantic import BeforeValidator
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

from ..extensions import db
from ..models import ApiToken, Attachment, AuditEvent, Comment, Label, Task, User
from .errors import Forbidden
from .params import Param, ParamSet, iso_date, refuse, text, whole_number
from .permissions import can

ACTIONS = (
    "task.create", "task.update", "task.delete", "task.restore", "task.complete", "task.reopen",
    "label.create", "label.update", "label.delete",
    "auth.login", "auth.login_failed", "auth.logout", "auth.password_change",
    "auth.login_throttled", "auth.password_check_throttled",
    "user.create", "user.role_change", "user.activate", "user.deactivate",
    "token.create", "token.revoke",
    "attachment.create", "attachment.delete",
    "comment.create", "comment.update", "comment.delete",
)
TARGET_TYPES = {Task: "task", User: "user", ApiToken: "token", Attachment: "attachment",
                Comment: "comment", Label: "label"}
MAX_PAGE = 1_000_000
PER_PAGE = 50
USERNAME_FILTER_MAX = 32


def _known_action(value: object) -> str | None:
    if value is not None and value not in ACTIONS:
        raise refuse("Unknown action.")
    return value


audit_log = logging.getLogger("webapp.audit")
_source_ip: ContextVar[str | None] = ContextVar("audit_source_ip", default=None)
_api_token: ContextVar[str | None] = ContextVar("audit_api_token", default=None)
_via: ContextVar[str | None] = ContextVar("audit_via", default=None)
_PENDING = "audit_pending"


def bind_source_ip(ip: str | None) -> None:
    """Set the client IP recorded with the events of the current request (web layer only)."""
    _source_ip.set((ip or None) and ip[:64])


def bind_api_token(prefix: str | None) -> None:
    """Mark the events of the current request as made through the API with the token of
    this visible prefix (web layer only; None: not through a token)."""
    _api_token.set(prefix)


@contextmanager
def marked_via(channel: str) -> Iterator[None]:
    """Mark the events recorded inside the block as made through `channel` ("api"), for
    the API requests that carry no token: the token login and registration (web layer)."""
    reset = _via.set(channel)
    try:
        yield
    finally:
        _via.reset(reset)


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a changed value ([old, new] pairs included)."""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def record(
    actor: User | None,
    action: str,
    target: Any = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction; the caller commits it with its change."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    target_type = target_id = None
    if target is not None:
        if getattr(target, "id", None) is None:
            db.session.flush()  # a new object gets its id
        target_type = TARGET_TYPES.get(type(target), type(target).__name__.lower())
        target_id = str(target.id)
    token_prefix = _api_token.get()
    if token_prefix is not None:
        changes = {**(changes or {}), "via": "api", "token": token_prefix}
    elif _via.get() is not None:
        changes = {**(changes or {}), "via": _via.get()}
    event_row = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        source_ip=_source_ip.get(),
        changes={name: _plain(value) for name, value in changes.items()} if changes else None,
    )
    db.session.add(event_row)
    db.session.info.setdefault(_PENDING, []).append({
        "action": action, "actor_id": event_row.actor_id, "target_type": target_type,
        "target_id": target_id, "source_ip": event_row.source_ip, "changes": event_row.changes,
    })
    return event_row


def field_changes(obj: Any, before: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field of `before` whose value on obj differs now."""
    return {name: [old, getattr(obj, name)] for name, old in before.items()
            if getattr(obj, name) != old}


@event.listens_for(Session, "after_commit")
def _log_committed(session: Session) -> None:
    """Write a JSON log line for each audit event that has just been stored."""
    for fields in session.info.pop(_PENDING, []):
        audit_log.info("audit", extra=fields)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- Reading the trail (admins) ------------------------------------------------------------

class AuditFilters(ParamSet):
    """What the audit list is narrowed to, and which page is shown: the audit page's query
    parameters, declared once (their names, rules, messages, labels and choices)."""

    user: Annotated[
        str | None,
        Param("User", description="Events by or about this username."),
        text(USERNAME_FILTER_MAX, f"Enter a username (at most {USERNAME_FILTER_MAX} characters).",
             lower=True),
    ] = None
    action: Annotated[
        Literal[ACTIONS] | None,
        Param("Action", choices={action: action for action in ACTIONS}),
        BeforeValidator(_known_action),
    ] = None
    date_from: Annotated[date | None, Param("From"), iso_date()] = None
    date_to: Annotated[date | None, Param("To"), iso_date()] = None
    page: Annotated[
        int, Param("Page"),
        whole_number(MAX_PAGE, f"Page must be a whole number from 1 to {MAX_PAGE}."),
    ] = 1


def parse_audit_filters(args: Mapping[str, str]) -> tuple[AuditFilters, dict[str, str]]:
    """Read the audit filters from query parameters; bad values are left out and reported."""
    return AuditFilters.from_args(args, "page")


def audit_events(actor: User, filters: AuditFilters) -> Pagination:
    """One page of audit events, newest first, for an admin.

    The user filter matches events the user did and events about their account (such as a
    failed login with their username).
    """
    if not can(actor, "view_audit"):
        raise Forbidden("view_audit")
    query = sa.select(AuditEvent).options(joinedload(AuditEvent.actor))
    if filters.user:
        user_id = db.session.scalar(sa.select(User.id).where(User.username == filters.user))
        if user_id is None:
            return db.paginate(query.where(sa.false()), page=1, per_page=PER_PAGE,
                               error_out=False)
        query = query.where(sa.or_(
            AuditEvent.actor_id == user_id,
            sa.and_(AuditEvent.target_type == "user", AuditEvent.target_id == str(user_id)),
        ))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.date_from:
        query = query.where(AuditEvent.created_at >= datetime.combine(filters.date_from,
                                                                      datetime.min.time()))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
        query = query.where(AuditEvent.created_at < end)
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    return db.paginate(query, page=filters.page, per_page=PER_PAGE, error_out=False)
