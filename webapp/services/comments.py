"""Comments on tasks, and the task's timeline (status changes and comments, newest last).

Who may do what is decided by `permissions.can`: whoever may see the task (its owner, the
admins) comments on it; a comment's author edits it; its author or an admin deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Comment, StatusChange, Task, User, utcnow
from . import audit
from . import tasks as task_service
from .errors import Forbidden, Invalid, NotFound
from .permissions import can
from .text import nul_errors, valid_id

BODY_MAX = 10_000


def clean_body(body: str | None) -> str:
    """The comment text to store (trimmed); Invalid({"body": [...]}) when it breaks a rule."""
    errors = nul_errors(body=body)
    if errors:
        raise Invalid(errors)
    text = (body or "").strip()
    if not text:
        raise Invalid({"body": ["Write something first."]})
    if len(text) > BODY_MAX:
        raise Invalid({"body": [f"A comment must be at most {BODY_MAX} characters."]})
    return text


def get_comment_for(actor: User, task_id: int, comment_id: int,
                    action: str | None = None) -> Comment:
    """The comment, if it belongs to a task the actor may see; NotFound otherwise. With an
    action ("edit_comment", "delete_comment") the actor must also be allowed it: Forbidden
    (the comment is visible to them, so its existence is no secret)."""
    task = task_service.get_task_for(actor, task_id)
    comment = db.session.get(Comment, comment_id, options=[joinedload(Comment.author)]) \
        if valid_id(comment_id) else None
    if comment is None or comment.task_id != task.id:
        raise NotFound("comment", comment_id)
    if action is not None and not can(actor, action, comment):
        message = ("Only its author can edit a comment." if action == "edit_comment"
                   else "Only its author or an admin can delete a comment.")
        raise Forbidden(action, message)
    return comment


def list_comments(actor: User, task_id: int) -> list[Comment]:
    """The comments of a task the actor may see, oldest first, with their authors."""
    return comments_of_task(task_service.get_task_for(actor, task_id))


def comments_of_task(task: Task) -> list[Comment]:
    """The comments of a task already read through `get_task_for` (one query)."""
    return list(db.session.scalars(
        sa.select(Comment).where(Comment.task_id == task.id)
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    ))


def add_comment(actor: User, task_id: int, body: str) -> Comment:
    """Comment on a task the actor may see (its owner or an admin)."""
    task = task_service.get_task_for(actor, task_id, "comment")
    comment = Comment(task_id=task.id, author_id=actor.id, body=clean_body(body),
                      created_at=utcnow())
    db.session.add(comment)
    audit.record(actor, "comment.create", comment, {"task_id": task.id})
    db.session.commit()
    return comment


def update_comment(actor: User, task_id: int, comment_id: int, body: str) -> Comment:
    """Change the text of the actor's own comment; it is then marked as edited. Sending the
    same text again changes nothing."""
    comment = get_comment_for(actor, task_id, comment_id, "edit_comment")
    text = clean_body(body)
    if text != comment.body:
        comment.body = text
        comment.edited_at = utcnow()
        audit.record(actor, "comment.update", comment, {"task_id": comment.task_id})
        db.session.commit()
    return comment


def delete_comment(actor: User, task_id: int, comment_id: int) -> Comment:
    """Delete a comment (its author, or an admin); returns the detached comment."""
    comment = get_comment_for(actor, task_id, comment_id, "delete_comment")
    audit.record(actor, "comment.delete", comment, {
        "task_id": comment.task_id, "author_id": comment.author_id,
    })
    db.session.delete(comment)
    db.session.commit()
    return comment


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a task's story: a status change or a comment."""

    at: datetime
    kind: str  # "status" or "comment"
    item: StatusChange | Comment


def task_timeline(task: Task) -> list[TimelineEntry]:
    """The task's status changes and comments in one list, newest last (two queries)."""
    entries = [TimelineEntry(change.changed_at, "status", change)
               for change in task_service.task_history(task)]
    entries += [TimelineEntry(comment.created_at, "comment", comment)
                for comment in comments_of_task(task)]
    # At the same instant a status change (such as the creation) comes before a comment.
    entries.sort(key=lambda entry: (entry.at, entry.kind != "status", entry.item.id))
    return entries
