"""Model objects as the JSON API shows them. Field names follow the seed APIs that existing
scripts call (`userId`, `isActive`, `createdAt`, ...): add fields, never rename or remove."""

from __future__ import annotations

from datetime import date, datetime

from ..models import Task, User
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


def task_json(task: Task) -> dict:
    """A task object: id, title, status, userId and the rest of its fields."""
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
    }
