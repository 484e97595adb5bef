"""Enrichment: weather for a task's city and GitHub data for its repository.

Saving a task never waits on an outside service. Pages show the stored snapshot, or a
placeholder that asks `load()` for it; `load()` fetches (through the cache), stores the
snapshot with the time it was fetched, and returns the task. Any failure is stored as a
status with a short reason: the task itself is never touched otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ...extensions import db
from ...models import Task, User, utcnow
from .. import tasks as task_service  # a module: tasks.py imports this package too
from .. import throttle
from . import github, weather
from .http import FetchError, NotFoundError, cache_get, cache_set


@dataclass(frozen=True)
class Kind:
    """One kind of enrichment: where its source and snapshot live, how to fetch it."""

    name: str
    source: str  # the Task attribute the user fills in (city, repo_full_name)
    data_columns: tuple[str, ...]  # snapshot columns filled from a successful fetch
    ttl_setting: str
    fetch: Callable[[str], dict[str, Any]]
    cache_prefix: Callable[[], str]

    @property
    def status_column(self) -> str:
        return f"{self.name}_status"

    @property
    def error_column(self) -> str:
        return f"{self.name}_error"

    @property
    def fetched_at_column(self) -> str:
        return f"{self.name}_fetched_at"

    def snapshot_columns(self) -> tuple[str, ...]:
        """Every column of the snapshot, cleared when the source changes."""
        return (*self.data_columns, self.status_column, self.error_column,
                self.fetched_at_column)


def _fetch_weather_columns(city: str) -> dict[str, Any]:
    return {"weather": weather.fetch_weather(city)}


KINDS = {
    "weather": Kind("weather", "city", ("weather",), "WEATHER_CACHE_SECONDS",
                    _fetch_weather_columns, lambda: f"weather:{weather.provider()}"),
    "repo": Kind("repo", "repo_full_name", ("repo_stars", "repo_description", "repo_url"),
                 "REPO_CACHE_SECONDS", github.fetch_repo, lambda: "github:repo"),
}


def enabled() -> bool:
    """Whether outgoing calls are switched on (ENRICHMENT_ENABLED)."""
    return bool(current_app.config["ENRICHMENT_ENABLED"])


def cleared_snapshot(kind: str) -> dict[str, None]:
    """Column values that forget a stored snapshot (the city or repository changed)."""
    return dict.fromkeys(KINDS[kind].snapshot_columns())


def is_due(task: Task, kind: str) -> bool:
    """Whether the page should ask for this enrichment: not stored yet, or stored too long ago.

    A good answer is kept as long as the cache keeps it; "not found" and failures only for the
    short not-found time, so a retry happens on its own after a while.
    """
    spec = KINDS[kind]
    if not enabled() or not getattr(task, spec.source):
        return False
    status = getattr(task, spec.status_column)
    fetched_at = getattr(task, spec.fetched_at_column)
    if status is None or fetched_at is None:
        return True
    config = current_app.config
    seconds = config[spec.ttl_setting] if status == "ok" else config["NOT_FOUND_CACHE_SECONDS"]
    return utcnow() - fetched_at >= timedelta(seconds=seconds)


# Lookups at outside services per user, page loads and Refresh together (a weather lookup
# is up to two calls). Answers from the cache cost nothing.
LOOKUPS = throttle.Budget(
    "enrichment-lookups", "ENRICHMENT_USER_LIMIT",
    "Too many lookups at outside services in a short time; asking again shortly.",
)


def load(actor: User, task_id: int, kind: str, force: bool = False) -> Task:
    """Return the task with its `kind` snapshot, fetching and storing it first when due.

    `force` (the Refresh action) asks the service again instead of the cache. Only the
    snapshot columns are written, and only while the task still names the same source.
    A lookup that would leave the cache spends one place of the actor's LOOKUPS budget,
    before the call; when it is used up, Throttled is raised and nothing is stored, so
    the snapshot stays due and a later load asks again.
    """
    spec = KINDS[kind]
    task = task_service.get_task_for(actor, task_id)
    source = getattr(task, spec.source)
    if not source or not enabled() or not (force or is_due(task, kind)):
        return task
    # Hold no transaction (and no pooled connection) while waiting on the network.
    db.session.rollback()
    values = _fetch_columns(actor, spec, source, force)
    store_snapshot(task_id, kind, source, values)
    return task_service.get_task_for(actor, task_id)


def _fetch_columns(actor: User, spec: Kind, source: str, force: bool) -> dict[str, Any]:
    """The snapshot columns for the source: data and "ok", or an error status and reason."""
    config = current_app.config
    key = f"enrichment:{spec.cache_prefix()}:{source.strip().lower()}"
    answer = None if force else cache_get(key)
    if answer is None:
        throttle.reserve(LOOKUPS, str(actor.id))  # raises Throttled: nothing is stored
        try:
            answer = {"status": "ok", "values": spec.fetch(source)}
            cache_set(key, answer, config[spec.ttl_setting])
        except NotFoundError as error:
            answer = {"status": error.status, "reason": error.reason}
            cache_set(key, answer, config["NOT_FOUND_CACHE_SECONDS"])
        except FetchError as error:
            # Not cached: the next load or Refresh asks again.
            current_app.logger.info("enrichment %s for %r failed: %s",
                                    spec.name, source, error.reason)
            answer = {"status": error.status, "reason": error.reason}
        except Exception:
            # Outside data must never turn a page into a 500; log the surprise loudly instead.
            current_app.logger.exception("enrichment %s for %r broke", spec.name, source)
            answer = {"status": "unavailable", "reason": "unexpected error"}
    values: dict[str, Any] = dict.fromkeys(spec.data_columns)
    if answer["status"] == "ok":
        values.update(answer["values"])
    reason = answer.get("reason")
    values[spec.status_column] = answer["status"]
    values[spec.error_column] = reason[:255] if reason else None
    values[spec.fetched_at_column] = utcnow()
    return values


def store_snapshot(task_id: int, kind: str, source: str, values: dict[str, Any]) -> bool:
    """Write snapshot columns without touching anything else; True when the task was updated.

    A Core UPDATE, so the task's version (optimistic locking of user edits) and updated_at
    stay as they are: a user editing the task meanwhile gets no false conflict. The WHERE on
    the source drops a snapshot for a city or repository the user has changed since.
    """
    spec = KINDS[kind]
    source_column = getattr(Task, spec.source)
    result = db.session.execute(
        sa.update(Task)
        .where(Task.id == task_id, source_column == source)
        .values(**values, updated_at=Task.updated_at)  # not an edit: keep updated_at
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


# What `enrichment_json` reports as a snapshot's status (the JSON API documents these).
SNAPSHOT_STATUSES = ("pending", "ok", "not_found", "unavailable")


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def enrichment_json(task: Task) -> dict[str, dict[str, Any] | None]:
    """The task's stored snapshots for the JSON API: {"weather": {...}|None, "repo": {...}|None}.

    `status` is "pending" (not fetched yet), "ok", "not_found" or "unavailable" (with `error`);
    `fetchedAt` is when that status was found (ISO 8601, UTC).
    """
    weather_json = None
    if task.city:
        data = task.weather if task.weather_status == "ok" and task.weather else {}
        weather_json = {
            "city": task.city,
            "status": task.weather_status or "pending",
            "error": task.weather_error,
            "fetchedAt": _iso(task.weather_fetched_at),
            "location": data.get("location"),
            "temperature": data.get("temperature"),
            "unit": data.get("unit"),
            "condition": data.get("condition"),
            "provider": data.get("provider"),
        }
    repo_json = None
    if task.repo_full_name:
        repo_json = {
            "fullName": task.repo_full_name,
            "status": task.repo_status or "pending",
            "error": task.repo_error,
            "fetchedAt": _iso(task.repo_fetched_at),
            "stars": task.repo_stars,
            "description": task.repo_description,
            "url": task.repo_url,
        }
    return {"weather": weather_json, "repo": repo_json}
