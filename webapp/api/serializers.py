"""Model objects as the JSON API shows them. Field names follow the seed APIs that existing
scripts call (`userId`, `isActive`, `createdAt`, ...): add fields, never rename or remove."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Label, Task, User, task_labels
from ..services.attachments import attachment_counts
from ..services.enrichment import enrichment_json


def timestamp(value: datetime | None) -> str | None:
    """A stored (naive UTC) timestamp as ISO 8601 with a Z, to the second."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def user_json(user: User) -> dict:
    """A user object: id, name, email, role, username, isActive, createdAt."""
    return {
        "id": user.id,
        "name": user.display_name,
        "email": user.email,
        "role": user.role,
        "username": user.username,
        "isActive": user.is_active,
        "createdAt": timestamp(user.created_at),
    }


def task_json(task: Task, labels: list[str] | None = None, attachments: int | None = None
              ) -> dict:
    """A task object: id, title, status, userId and the rest of its fields. `labels` and
    `attachments` come from tasks_json's two queries for a page; alone, they are read here."""
    if labels is None or attachments is None:
        return tasks_json([task])[0]
    return {
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "userId": task.owner_id,
        "description": task.description,
        "priority": task.priority,
        "dueDate": day(task.due_date),
        "createdAt": timestamp(task.created_at),
        "updatedAt": timestamp(task.updated_at),
        "completedAt": timestamp(task.completed_at),
        "version": task.version,
        "city": task.city,
        # Stored snapshots only: reading the API never calls GitHub or the weather service.
        **enrichment_json(task),
        "labels": labels,
        "attachments": attachments,
    }


def tasks_json(tasks: Sequence[Task]) -> list[dict]:
    """Task objects for a page of tasks: their labels and attachment counts in one query
    each, whatever the number of tasks (no query per task)."""
    ids = [task.id for task in tasks]
    names: dict[int, list[str]] = {task_id: [] for task_id in ids}
    if ids:
        rows = db.session.execute(
            sa.select(task_labels.c.task_id, Label.name)
            .join(Label, Label.id == task_labels.c.label_id)
            .where(task_labels.c.task_id.in_(ids))
            .order_by(task_labels.c.task_id, Label.name_key)
        )
        for task_id, name in rows:
            names[task_id].append(name)
    counts = attachment_counts(ids)
    return [task_json(task, names[task.id], counts.get(task.id, 0)) for task in tasks]
