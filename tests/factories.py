"""Test data with chosen timestamps, inserted as the service would have stored it.

Tasks get a status history like the service writes (created, then completed / reopened),
so the dashboard's history-based figures can be checked against hand-computed values.
"""

from __future__ import annotations

from datetime import date, datetime

from webapp.extensions import db
from webapp.models import StatusChange, Task


def add_task(
    owner_id: int,
    title: str,
    created_at: datetime,
    status: str = "pending",
    priority: str = "medium",
    due_date: date | None = None,
    description: str | None = None,
    completions: tuple[datetime, ...] = (),
    reopened_at: datetime | None = None,
) -> Task:
    """Add (not commit) a task and its history: created pending (or as its status when it was
    never completed later), completed at each time in `completions`, reopened at `reopened_at`.
    """
    first_status = "pending" if completions else status
    task = Task(owner_id=owner_id, title=title, description=description, status=status,
                priority=priority, due_date=due_date, created_at=created_at,
                updated_at=created_at)
    if status == "completed" and completions:
        task.completed_at = completions[-1]
    db.session.add(task)
    db.session.add(StatusChange(task=task, old_status=None, new_status=first_status,
                                changed_by_id=owner_id, changed_at=created_at))
    for when in completions:
        db.session.add(StatusChange(task=task, old_status="pending", new_status="completed",
                                    changed_by_id=owner_id, changed_at=when))
    if reopened_at is not None:
        db.session.add(StatusChange(task=task, old_status="completed", new_status="pending",
                                    changed_by_id=owner_id, changed_at=reopened_at))
    return task
