"""Tasks: the queries and the rules for reading and changing them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import PRIORITIES, STATUSES, StatusChange, Task, User, utcnow
from . import attachments, audit, enrichment
from .enrichment.github import normalise_repo
from .errors import AlreadySubmitted, Conflict, Forbidden, Invalid, NotFound
from .permissions import can
from .text import nul_errors, valid_id

TITLE_MAX = 100
DESCRIPTION_MAX = 10_000
CITY_MAX = 100
# The fields an edit can change, as recorded in the audit trail.
EDITABLE_FIELDS = (
    "title", "description", "status", "priority", "due_date", "owner_id", "city",
    "repo_full_name",
)


@dataclass
class TaskData:
    """Plain values for creating or editing a task, as a form or script sends them."""

    title: str
    description: str | None = None
    status: str = "pending"
    priority: str = "medium"
    due_date: date | None = None
    owner_id: int | None = None
    city: str | None = None
    repo: str | None = None  # "owner/name" or its https://github.com/owner/name address


def get_task_for(actor: User, task_id: int, action: str = "view") -> Task:
    """Return the task if it exists and the actor may perform the action on it.

    A task the actor may not see is reported as absent (NotFound), never as forbidden,
    so its existence is not revealed.
    """
    task = db.session.get(Task, task_id, options=[joinedload(Task.owner)]) if valid_id(
        task_id) else None
    if task is None or not can(actor, "view", task):
        raise NotFound("task", task_id)
    if not can(actor, action, task):
        raise Forbidden(action)
    return task


def tasks_visible_to(actor: User) -> sa.Select:
    """A SELECT of the tasks the actor may see, owners loaded; callers add order and filters."""
    if not can(actor, "view_all_tasks"):
        # The owner of each is the actor, already in the session: task.owner needs no query,
        # so no join (which doubled the work of loading a page of rows).
        return sa.select(Task).where(Task.owner_id == actor.id)
    return sa.select(Task).options(joinedload(Task.owner))


def task_history(task: Task) -> list[StatusChange]:
    """The task's status changes, oldest first, with who made them (one query)."""
    return list(db.session.scalars(
        sa.select(StatusChange)
        .where(StatusChange.task_id == task.id)
        .options(joinedload(StatusChange.changed_by))
        .order_by(StatusChange.changed_at, StatusChange.id)
    ))


def _clean(data: TaskData) -> TaskData:
    """Trim and check the values; raise Invalid with every field error at once."""
    errors = nul_errors(title=data.title, description=data.description)
    if errors:
        raise Invalid(errors)
    title = (data.title or "").strip()
    description = (data.description or "").strip() or None
    if not title:
        errors["title"] = ["Title is required."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"Title must be at most {TITLE_MAX} characters."]
    if description and len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"Description must be at most {DESCRIPTION_MAX} characters."]
    if data.status not in STATUSES:
        errors["status"] = [f"Status must be one of {', '.join(STATUSES)}."]
    if data.priority not in PRIORITIES:
        errors["priority"] = [f"Priority must be one of {', '.join(PRIORITIES)}."]
    city = (data.city or "").strip() or None
    if city and len(city) > CITY_MAX:
        errors["city"] = [f"City must be at most {CITY_MAX} characters."]
    try:
        repo = normalise_repo(data.repo)
    except ValueError as error:
        errors["repo"] = [str(error)]
    if errors:
        raise Invalid(errors)
    return replace(data, title=title, description=description, city=city, repo=repo)


def _resolve_owner(actor: User, owner_id: int | None, current: int | None = None) -> int:
    """Return the owner id to store: the actor's own unless an admin names an active user."""
    if owner_id is None or owner_id == (current or actor.id):
        return current or actor.id
    if not can(actor, "assign"):
        raise Forbidden("assign", "Only admins can give a task to someone else.")
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise Invalid({"owner_id": ["Choose an active user."]})
    return owner.id


def _record_status(task: Task, old: str | None, actor: User) -> None:
    """Add a StatusChange row and keep completed_at in step with the new status."""
    if old == task.status:
        return
    now = utcnow()
    if task.status == "completed":
        task.completed_at = task.completed_at or now
    else:
        task.completed_at = None
    db.session.add(StatusChange(task=task, old_status=old, new_status=task.status,
                                changed_by_id=actor.id, changed_at=now))


def create_task(actor: User, data: TaskData, submission_key: str | None = None) -> Task:
    """Create a task for the actor (or, for an admin, for the user named as owner).

    A form sends a random `submission_key`; a second submission with the same key (double
    click, resubmitted page) raises AlreadySubmitted instead of creating a twin. The task keeps
    the key under a unique index, so the database decides, whichever process or instance each
    submission reaches and with or without Redis.
    """
    data = _clean(data)
    stored_key = f"{actor.id}:{submission_key}" if submission_key else None
    try:
        return _insert_task(actor, data, stored_key)
    except sa.exc.IntegrityError:
        db.session.rollback()
        earlier = db.session.scalar(
            sa.select(Task).where(Task.submission_key == stored_key)
        ) if stored_key else None
        if earlier is None:
            raise  # another constraint: not a second submission
        raise AlreadySubmitted(earlier) from None


def _insert_task(actor: User, data: TaskData, submission_key: str | None) -> Task:
    task = Task(
        title=data.title,
        description=data.description,
        status=data.status,
        priority=data.priority,
        due_date=data.due_date,
        owner_id=_resolve_owner(actor, data.owner_id),
        city=data.city,
        repo_full_name=data.repo,
        submission_key=submission_key,
    )
    db.session.add(task)
    _record_status(task, None, actor)
    audit.record(actor, "task.create", task, {"title": task.title})
    db.session.commit()
    return task


def update_task(actor: User, task_id: int, data: TaskData, expected_version: int | None) -> Task:
    """Apply an edit; refuse it with Conflict when the task changed since the form was loaded."""
    task = get_task_for(actor, task_id, "update")
    if expected_version is not None and expected_version != task.version:
        raise Conflict(task)
    data = _clean(data)
    old_status = task.status
    before = {name: getattr(task, name) for name in EDITABLE_FIELDS}
    task.title = data.title
    task.description = data.description
    task.status = data.status
    task.priority = data.priority
    task.due_date = data.due_date
    task.owner_id = _resolve_owner(actor, data.owner_id, current=task.owner_id)
    _set_enrichment_sources(task, data.city, data.repo)
    _record_status(task, old_status, actor)
    changes = audit.field_changes(task, before)
    if changes:
        audit.record(actor, "task.update", task, changes)
    _commit_or_conflict(task)
    return task


def _set_enrichment_sources(task: Task, city: str | None, repo: str | None) -> None:
    """Store a new city or repository; a changed one forgets the snapshot fetched for the old."""
    for kind, attribute, value in (("weather", "city", city), ("repo", "repo_full_name", repo)):
        if getattr(task, attribute) != value:
            setattr(task, attribute, value)
            for column, cleared in enrichment.cleared_snapshot(kind).items():
                setattr(task, column, cleared)


def set_completed(actor: User, task_id: int, completed: bool) -> Task:
    """Complete or reopen a task; completing a completed task keeps its first completion time."""
    task = get_task_for(actor, task_id, "update")
    old_status = task.status
    if completed:
        task.status = "completed"
    elif task.status == "completed":
        task.status = "pending"
    if task.status != old_status:
        audit.record(actor, "task.complete" if completed else "task.reopen", task,
                     {"status": [old_status, task.status]})
    _record_status(task, old_status, actor)
    _commit_or_conflict(task)
    return task


def toggle_task(actor: User, task_id: int) -> Task:
    """Complete an open task, or reopen a completed one."""
    task = get_task_for(actor, task_id, "update")
    return set_completed(actor, task.id, not task.is_completed)


def delete_task(actor: User, task_id: int) -> Task:
    """Delete a task the actor may delete, with its comments and files; returns the (now
    detached) task.

    The rows go in the task's transaction (ON DELETE CASCADE); the stored files are removed
    once it has committed, so a failed delete never loses a file that is still referred to.
    """
    task = get_task_for(actor, task_id, "delete")
    stored_keys = attachments.stored_keys_of_tasks([task.id])
    audit.record(actor, "task.delete", task, {"title": task.title})
    db.session.delete(task)
    db.session.commit()
    attachments.remove_stored_files(stored_keys)
    return task


def _commit_or_conflict(task: Task) -> None:
    """Commit; a concurrent edit that won the race turns into Conflict, not a 500."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(db.session.get(Task, task.id)) from None
