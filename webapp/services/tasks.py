"""Tasks: the queries and the rules for reading and changing them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import PRIORITIES, STATUSES, StatusChange, Task, User, utcnow
from . import attachments, audit, enrichment
from . import labels as label_service
from .enrichment.github import normalise_repo
from .errors import AlreadySubmitted, Conflict, Forbidden, Invalid, NotFound
from .permissions import can
from .text import VISIBLE_MESSAGE, has_visible_character, nul_errors, valid_id

TITLE_MAX = 100
DESCRIPTION_MAX = 10_000
CITY_MAX = 100
# The fields an edit can change, as recorded in the audit trail.
EDITABLE_FIELDS = (
    "title", "description", "status", "priority", "due_date", "owner_id", "city",
    "repo_full_name",
)
# The fields a row of the list or a board card changes without the whole form.
ROW_FIELDS = ("title", "status", "priority", "due_date")
# How long a deleted task waits in the bin (Undo) before the purge removes it for good.
DELETED_RETENTION = timedelta(days=7)
PURGE_BATCH = 200


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
    # Label names (created for the owner when new); None leaves a task's labels as they are.
    labels: list[str] | None = None


def get_task_for(actor: User, task_id: int, action: str = "view",
                 deleted: bool = False) -> Task:
    """Return the task if it exists and the actor may perform the action on it.

    A task the actor may not see is reported as absent (NotFound), never as forbidden,
    so its existence is not revealed. A deleted task (in the bin) is absent too, except for
    `deleted=True`, which finds only those (Undo).
    """
    task = db.session.get(Task, task_id, options=[joinedload(Task.owner)]) if valid_id(
        task_id) else None
    if task is None or not can(actor, "view", task) or (task.deleted_at is not None) != deleted:
        raise NotFound("task", task_id)
    if not can(actor, action, task):
        raise Forbidden(action)
    return task


def tasks_visible_to(actor: User) -> sa.Select:
    """A SELECT of the tasks the actor may see, owners loaded; callers add order and filters."""
    live = sa.select(Task).where(Task.deleted_at.is_(None))
    if not can(actor, "view_all_tasks"):
        # The owner of each is the actor, already in the session: task.owner needs no query,
        # so no join (which doubled the work of loading a page of rows).
        return live.where(Task.owner_id == actor.id)
    return live.options(joinedload(Task.owner))


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
    elif not has_visible_character(title):
        errors["title"] = [f"Title {VISIBLE_MESSAGE}."]
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
    labels = data.labels
    if labels is not None:
        try:
            labels = label_service.check_names(labels)
        except Invalid as error:
            errors.update(error.field_errors)
    if errors:
        raise Invalid(errors)
    return replace(data, title=title, description=description, city=city, repo=repo,
                   labels=labels)


def _label_names(task: Task) -> list[str]:
    return [label.name for label in task.labels]


def _labels_for(owner_id: int, names: list[str] | None, task: Task | None = None):
    """The owner's labels with these names (created when new), or None to keep the task's
    as they are. None keeps the names, moved into the owner's own labels after an owner
    change: a task only ever carries labels of its owner.

    Called before the task itself is changed, so creating a label (a flush in a savepoint)
    does not also write a half-edited task and bump its version twice.
    """
    if names is None:
        if task is None or all(label.owner_id == owner_id for label in task.labels):
            return None
        names = _label_names(task)
    return label_service.resolve_labels(owner_id, names)


def _resolve_owner(actor: User, owner_id: int | None, current: int | None = None) -> int:
    """Return the owner id to store: the actor's own unless an admin names an active user."""
    if owner_id is None or owner_id == (current or actor.id):
        return current or actor.id
    if not can(actor, "assign"):
        raise Forbidden("assign", "Only admins can give a task to someone else.")
    # An id no column can hold (a script's typo) is no user, not a database error.
    owner = db.session.get(User, owner_id) if valid_id(owner_id) else None
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
    owner_id = _resolve_owner(actor, data.owner_id)
    labels = _labels_for(owner_id, data.labels or [])
    task = Task(
        title=data.title,
        description=data.description,
        status=data.status,
        priority=data.priority,
        due_date=data.due_date,
        owner_id=owner_id,
        city=data.city,
        repo_full_name=data.repo,
        submission_key=submission_key,
        labels=labels,
    )
    db.session.add(task)
    _record_status(task, None, actor)
    changes = {"title": task.title}
    if task.labels:
        changes["labels"] = _label_names(task)
    audit.record(actor, "task.create", task, changes)
    db.session.commit()
    return task


def update_task(actor: User, task_id: int, data: TaskData, expected_version: int | None) -> Task:
    """Apply an edit; refuse it with Conflict when the task changed since the form was loaded."""
    task = get_task_for(actor, task_id, "update")
    if expected_version is not None and expected_version != task.version:
        raise Conflict(task)
    data = _clean(data)
    owner_id = _resolve_owner(actor, data.owner_id, current=task.owner_id)
    labels_before = _label_names(task)
    labels = _labels_for(owner_id, data.labels, task)
    old_status = task.status
    before = {name: getattr(task, name) for name in EDITABLE_FIELDS}
    task.title = data.title
    task.description = data.description
    task.status = data.status
    task.priority = data.priority
    task.due_date = data.due_date
    task.owner_id = owner_id
    _set_enrichment_sources(task, data.city, data.repo)
    if labels is not None:
        task.labels = labels
    _record_status(task, old_status, actor)
    changes = audit.field_changes(task, before)
    if _label_names(task) != labels_before:
        changes["labels"] = [labels_before, _label_names(task)]
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


def change_task(actor: User, task_id: int, changes: dict, expected_version: int | None) -> Task:
    """Change some of a task's title, status, priority and due date (an inline edit in a
    row, a move on the board), with the same checks, version rule, history and audit as
    the whole form."""
    unknown = set(changes) - set(ROW_FIELDS)
    if unknown:
        raise ValueError(f"not a row field: {', '.join(sorted(unknown))}")
    task = get_task_for(actor, task_id, "update")
    current = TaskData(
        title=task.title, description=task.description, status=task.status,
        priority=task.priority, due_date=task.due_date, owner_id=task.owner_id,
        city=task.city, repo=task.repo_full_name,
    )
    return update_task(actor, task.id, replace(current, **changes), expected_version)


def change_labels(actor: User, task_id: int, names: list[str],
                  expected_version: int | None) -> Task:
    """Give a task exactly these labels of its owner (new names create labels): the board's
    and detail page's label form. An edit like any other: version, audit."""
    task = get_task_for(actor, task_id, "update")
    if expected_version is not None and expected_version != task.version:
        raise Conflict(task)
    names = label_service.check_names(names)
    before = _label_names(task)
    labels = label_service.resolve_labels(task.owner_id, names)
    task.labels = labels
    if _label_names(task) != before:
        task.updated_at = utcnow()  # a change of the task: its version moves on
        audit.record(actor, "task.update", task, {"labels": [before, _label_names(task)]})
    _commit_or_conflict(task)
    return task


def delete_task(actor: User, task_id: int) -> Task:
    """Move a task the actor may delete to the bin: gone from every list at once, back with
    restore_task (Undo) until the purge removes it for good."""
    task = get_task_for(actor, task_id, "delete")
    task.deleted_at = utcnow()
    audit.record(actor, "task.delete", task, {"title": task.title})
    _commit_or_conflict(task)
    return task


def restore_task(actor: User, task_id: int) -> Task:
    """Bring a deleted task back as it was: history, labels and snapshots never left."""
    task = get_task_for(actor, task_id, "delete", deleted=True)
    task.deleted_at = None
    audit.record(actor, "task.restore", task, {"title": task.title})
    _commit_or_conflict(task)
    return task


def purge_deleted_tasks(now: datetime | None = None, limit: int = PURGE_BATCH) -> int:
    """Remove for good up to `limit` tasks deleted more than DELETED_RETENTION ago, with
    their history, labels, comments and attachment rows (ON DELETE CASCADE) and, once that
    has committed, their stored files; returns how many. Run by `flask tasks purge` and
    after each delete, so the bin never grows without bound."""
    cutoff = (now or utcnow()) - DELETED_RETENTION
    ids = list(db.session.scalars(
        sa.select(Task.id).where(Task.deleted_at < cutoff).order_by(Task.deleted_at)
        .limit(limit)
    ))
    if not ids:
        return 0
    stored_keys = attachments.stored_keys_of_tasks(ids)
    # Only rows still in the bin: a task restored meanwhile stays, and so do its files.
    purged = list(db.session.scalars(
        sa.delete(Task).where(Task.id.in_(ids), Task.deleted_at < cutoff)
        .returning(Task.id).execution_options(synchronize_session=False)
    ))
    db.session.commit()
    attachments.remove_stored_files(
        key for task_id in purged for key in stored_keys.get(task_id, ())
    )
    return len(purged)


def _commit_or_conflict(task: Task) -> None:
    """Commit; a concurrent edit that won the race turns into Conflict, not a 500."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(db.session.get(Task, task.id)) from None
