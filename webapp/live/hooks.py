"""Publishing at the persistence level: SQLAlchemy session events see every task insert,
update and delete, and the events go out after the transaction commits (never before: a
rolled-back change is never announced).

Whatever makes the change (a page, an htmx fragment, the JSON API, the CLI, an admin's
reassignment, an enrichment snapshot stored with a Core UPDATE) needs no code of its own:
- ORM changes are read in `after_flush` (the session still knows each object's values before
  the flush then) and merged per task, so one transaction makes one event per task;
- ORM-enabled UPDATE and DELETE statements on tasks (`session.execute(update(Task)...)`, bulk
  updates by primary key) are seen in `do_orm_execute`: the rows they touch are read in the
  same transaction, before and after.
Not seen: SQL text and statements run on a bare connection (nothing in the app does either).

Changes to what a user may access (sessions ended, deactivation, role, a token revoked) are
announced the same way, as access events that make open streams check their credentials.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..models import ApiToken, Task, User
from .events import ACCESS_CHANGED, WATCHED_ATTRIBUTES, Event, TaskChange, task_event

log = logging.getLogger(__name__)

PENDING_KEY = "taskdeck_live_pending"
# User and token attributes whose change can end a stream's right to receive events.
USER_ACCESS_ATTRIBUTES = ("is_active", "session_version", "role")
TOKEN_ACCESS_ATTRIBUTES = ("revoked_at", "expires_at")


@dataclass
class Pending:
    """What the session's current transaction will announce when it commits."""

    tasks: dict[int, TaskChange] = field(default_factory=dict)
    access: list[tuple[int, int | None]] = field(default_factory=list)

    def task(self, task_id: int) -> TaskChange:
        return self.tasks.setdefault(task_id, TaskChange(task_id))

    def add_access(self, user_id: int, token_id: int | None = None) -> None:
        if (user_id, token_id) not in self.access:
            self.access.append((user_id, token_id))


def pending(session: Session) -> Pending:
    return session.info.setdefault(PENDING_KEY, Pending())


def _history(obj, name: str):
    """(value before the flush, value now) of one attribute."""
    hist = inspect(obj).attrs[name].history
    now = hist.added[0] if hist.added else (hist.unchanged[0] if hist.unchanged else None)
    if hist.deleted:
        return hist.deleted[0], now
    return now, now


def _changed(obj, names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def collect_flushed_changes(session: Session, _flush_context) -> None:
    """Note what this flush did to tasks, users and tokens (published after the commit)."""
    found = pending(session)
    for obj in session.new:
        if isinstance(obj, Task):
            change = found.task(obj.id)
            change.created = True
            change.record({}, {name: getattr(obj, name) for name in WATCHED_ATTRIBUTES})
            change.version = obj.version
    for obj in session.dirty:
        if isinstance(obj, Task) and session.is_modified(obj, include_collections=False):
            values = {name: _history(obj, name) for name in WATCHED_ATTRIBUTES}
            change = found.task(obj.id)
            change.record({n: v[0] for n, v in values.items()},
                          {n: v[1] for n, v in values.items()})
            change.version = obj.version
        elif isinstance(obj, User) and _changed(obj, USER_ACCESS_ATTRIBUTES):
            found.add_access(obj.id)
        elif isinstance(obj, ApiToken) and _changed(obj, TOKEN_ACCESS_ATTRIBUTES):
            found.add_access(obj.user_id, obj.id)
    for obj in session.deleted:
        if isinstance(obj, Task):
            change = found.task(obj.id)
            change.deleted = True
            change.record({name: getattr(obj, name) for name in WATCHED_ATTRIBUTES}, {})
            change.version = obj.version


@event.listens_for(Session, "do_orm_execute")
def collect_statement_changes(state) -> sa.Result | None:
    """UPDATE and DELETE statements on tasks: read the rows they touch, before and after."""
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, Task):
        return None
    session = state.session
    watched = [getattr(Task, name) for name in WATCHED_ATTRIBUTES]
    if isinstance(state.parameters, list):  # a bulk UPDATE by primary key
        where = Task.id.in_([row["id"] for row in state.parameters if "id" in row])
    else:
        where = state.statement.whereclause
    query = sa.select(Task.id, Task.version, *watched)
    before = session.execute(query.where(where) if where is not None else query).all()
    result = state.invoke_statement()
    found = pending(session)
    if state.is_delete:
        for row in before:
            change = found.task(row.id)
            change.deleted = True
            change.record({n: getattr(row, n) for n in WATCHED_ATTRIBUTES}, {})
            change.version = row.version
        return result
    after = {row.id: row for row in session.execute(
        query.where(Task.id.in_([row.id for row in before])))}
    for row in before:
        now = after.get(row.id)
        if now is None:
            continue
        change = found.task(row.id)
        change.record({n: getattr(row, n) for n in WATCHED_ATTRIBUTES},
                      {n: getattr(now, n) for n in WATCHED_ATTRIBUTES})
        change.version = now.version
    return result


@event.listens_for(Session, "after_commit")
def publish_committed_changes(session: Session) -> None:
    """The transaction is committed: announce what it did, once."""
    found = session.info.pop(PENDING_KEY, None)
    if found is None or not has_app_context():
        return
    live = current_app.extensions.get("taskdeck_live")
    if live is None:
        return
    committed_at = time.time()
    events = [e for e in (task_event(c, committed_at) for c in found.tasks.values()) if e]
    events += [Event(type=ACCESS_CHANGED, user_id=user_id, token_id=token_id,
                     time=committed_at) for user_id, token_id in found.access]
    if not events:
        return
    try:
        live.bus.publish(events)
    except Exception:
        # The change is committed whatever happens here; a page must not fail because of it.
        log.exception("live updates: could not publish %d events", len(events))


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def forget_rolled_back_changes(session: Session, *_args) -> None:
    """Nothing of a rolled-back transaction is announced."""
    session.info.pop(PENDING_KEY, None)
