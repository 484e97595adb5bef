"""What the live-update bus carries: small events with ids and versions, never task content.

A task event says which task changed and how (`task.created`, `task.updated`,
`task.completed`, `task.reopened`, `task.deleted`), whose it is, its version and when the
change was committed. Whoever shows the change reads the task again through the normal access
path. An access event (`access.changed`) tells open streams that a user's sessions, role,
activity or one of their tokens changed, so they check their credentials again at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

TASK_EVENT_TYPES = ("task.created", "task.updated", "task.completed", "task.reopened",
                    "task.deleted")
ACCESS_CHANGED = "access.changed"

# "<milliseconds>-<sequence>", the form of Redis stream ids; the in-memory bus makes the same.
EVENT_ID_RE = re.compile(r"^(\d{1,15})-(\d{1,15})$")


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """An event id as a comparable pair, None when absent; ValueError when malformed."""
    if value is None or value == "":
        return None
    match = EVENT_ID_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError("not an event id")
    return int(match.group(1)), int(match.group(2))


def format_event_id(pair: tuple[int, int]) -> str:
    return f"{pair[0]}-{pair[1]}"


@dataclass(frozen=True)
class Event:
    """One published change. `id` is given by the bus when it is published."""

    type: str
    task_id: int | None = None
    owner_id: int | None = None  # the task's owner after the change
    # Every owner the task had in the transaction: a task given to someone else is announced
    # to its former owner too (as gone from their view), so their open list drops it.
    owner_ids: tuple[int, ...] = ()
    version: int | None = None
    time: float = 0.0  # when the transaction committed, seconds since the epoch (UTC)
    user_id: int | None = None  # access events: whose access changed
    token_id: int | None = None  # access events: the token that changed, if one did
    id: str | None = None

    @property
    def is_task_event(self) -> bool:
        return self.type in TASK_EVENT_TYPES

    @property
    def sort_key(self) -> tuple[int, int]:
        return parse_event_id(self.id) or (0, 0)

    def with_id(self, event_id: str) -> Event:
        return replace(self, id=event_id)

    def to_json(self) -> str:
        """The compact form stored in the history and sent between instances (no id)."""
        body = {"type": self.type, "time": self.time}
        for name, key in (("task_id", "taskId"), ("owner_id", "ownerId"),
                          ("version", "version"), ("user_id", "userId"),
                          ("token_id", "tokenId")):
            value = getattr(self, name)
            if value is not None:
                body[key] = value
        if self.owner_ids:
            body["ownerIds"] = list(self.owner_ids)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, event_id: str | None = None) -> Event:
        body = json.loads(text)
        return cls(
            type=body["type"], task_id=body.get("taskId"), owner_id=body.get("ownerId"),
            owner_ids=tuple(body.get("ownerIds", ())), version=body.get("version"),
            time=body.get("time", 0.0), user_id=body.get("userId"),
            token_id=body.get("tokenId"), id=event_id,
        )


# --- Naming a task change -------------------------------------------------------------------

# The task attributes whose values before and after a transaction name its event (and, for
# owner_id, who hears it). A new way for a task to come or go adds its column here and a rule
# to EVENT_RULES, as the soft delete (deleted_at) did.
WATCHED_ATTRIBUTES = ("status", "owner_id", "deleted_at")


@dataclass
class TaskChange:
    """What one transaction did to one task: enough to name its one event."""

    task_id: int
    created: bool = False
    deleted: bool = False
    before: dict[str, Any] = field(default_factory=dict)  # watched values at the start
    after: dict[str, Any] = field(default_factory=dict)  # watched values at the end
    owner_ids: list[int] = field(default_factory=list)
    version: int | None = None

    def record(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Merge one flush: the first `before` and the last `after` of each attribute count."""
        for name, value in before.items():
            self.before.setdefault(name, value)
        self.after.update(after)
        for owner in (before.get("owner_id"), after.get("owner_id")):
            if owner is not None and owner not in self.owner_ids:
                self.owner_ids.append(owner)

    def value_before(self, name: str) -> Any:
        return self.before.get(name, self.after.get(name))

    def became(self, name: str, value: Any) -> bool:
        """The attribute took this value in the transaction."""
        return self.after.get(name) == value and self.value_before(name) != value

    def left(self, name: str, value: Any) -> bool:
        """The attribute had this value and no longer has it."""
        return self.value_before(name) == value and self.after.get(name, value) != value

    def was_set(self, name: str) -> bool:
        """The attribute went from empty to a value (e.g. a soft delete's deleted_at)."""
        return self.value_before(name) is None and self.after.get(name) is not None

    def was_cleared(self, name: str) -> bool:
        return self.value_before(name) is not None and name in self.after and \
            self.after[name] is None


# The first rule that holds names the event; a change no rule names is "task.updated". One
# event per task and transaction: completing is "task.completed" only, even when the same
# edit changed the title too. Deleting moves a task to the bin (deleted_at set): for everyone
# watching it is gone, and Undo (deleted_at cleared) brings it back like a new task.
EVENT_RULES: list[tuple[Callable[[TaskChange], bool], str]] = [
    (lambda c: c.deleted, "task.deleted"),
    (lambda c: c.was_set("deleted_at"), "task.deleted"),
    (lambda c: c.was_cleared("deleted_at"), "task.created"),
    (lambda c: c.created, "task.created"),
    (lambda c: c.became("status", "completed"), "task.completed"),
    (lambda c: c.left("status", "completed"), "task.reopened"),
]


def event_type(change: TaskChange) -> str | None:
    """The event that announces the change; None when nobody could have seen it: a task
    created and deleted in the same transaction, a task purged from the bin (its deletion was
    announced when it went there), a change to a task in the bin."""
    if change.created and change.deleted:
        return None
    if change.value_before("deleted_at") is not None and change.after.get(
            "deleted_at", change.value_before("deleted_at")) is not None:
        return None
    for holds, name in EVENT_RULES:
        if holds(change):
            return name
    return "task.updated"


def task_event(change: TaskChange, committed_at: float) -> Event | None:
    """The event for a committed change (without its id)."""
    name = event_type(change)
    if name is None:
        return None
    owner = change.after.get("owner_id", change.value_before("owner_id"))
    return Event(type=name, task_id=change.task_id, owner_id=owner,
                 owner_ids=tuple(change.owner_ids), version=change.version,
                 time=committed_at)
