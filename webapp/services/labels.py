"""Labels: each user's own, on that user's tasks. Another user's label is never found.

The rule for a name is declared once here (LABEL_NAME_RE) and used by the forms, the quick
add parser and the list's `label` filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import LABEL_COLOURS, Label, Task, User, task_labels
from . import audit
from .errors import Invalid, NotFound
from .text import nul_errors, valid_id

LABEL_NAME_MAX = 32
# Letters (any script), digits, "_" and "-". `\w` is Unicode-aware in Python's re.
LABEL_NAME_RE = re.compile(r"[\w-]{1,32}")
LABEL_NAME_RULE = "1 to 32 letters, digits, _ or -"
MAX_LABELS_PER_TASK = 20
# Names of the palette as people read them (the colour column stores the key).
LABEL_COLOUR_NAMES = {
    "blue": "Blue", "green": "Green", "purple": "Purple", "orange": "Orange", "red": "Red",
    "teal": "Teal", "pink": "Pink", "grey": "Grey",
}


def name_key(name: str) -> str:
    """The case-insensitive form of a label name, as stored in `Label.name_key`."""
    return name.lower()


def clean_name(name: str | None) -> str:
    """A label name as typed (a leading "#" is allowed), trimmed; Invalid when it breaks the
    rule."""
    value = (name or "").strip().removeprefix("#")
    if not is_label_name(value):
        raise Invalid({"name": [f"A label name is {LABEL_NAME_RULE}."]})
    return value


def is_label_name(value: str) -> bool:
    """Whether the text is a valid label name (no leading "#")."""
    # fullmatch with \w would accept "_" and digits of every script: that is intended.
    return bool(LABEL_NAME_RE.fullmatch(value)) and len(name_key(value)) <= LABEL_NAME_MAX


def split_names(text: str | None) -> list[str]:
    """Label names from a text field: separated by commas or spaces, "#" optional."""
    return [part for part in re.split(r"[\s,]+", text or "") if part.strip("#")]


def labels_of(user: User) -> list[Label]:
    """The user's own labels, by name."""
    return list(db.session.scalars(
        sa.select(Label).where(Label.owner_id == user.id).order_by(Label.name_key)
    ))


def labels_with_counts(user: User) -> list[tuple[Label, int]]:
    """The user's labels with the number of their live tasks carrying each (one query)."""
    count = (
        sa.select(sa.func.count())
        .select_from(task_labels.join(Task, Task.id == task_labels.c.task_id))
        .where(task_labels.c.label_id == Label.id, Task.deleted_at.is_(None))
        .correlate(Label)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Label, count).where(Label.owner_id == user.id).order_by(Label.name_key)
    )
    return [(label, n) for label, n in rows]


def attach_labels(tasks: Iterable[Task]) -> None:
    """Load the labels of a page of tasks in one query (not one per task), so templates can
    read `task.labels` freely."""
    tasks = list(tasks)
    if not tasks:
        return
    by_task: dict[int, list[Label]] = {task.id: [] for task in tasks}
    rows = db.session.execute(
        sa.select(task_labels.c.task_id, Label)
        .join(Label, Label.id == task_labels.c.label_id)
        .where(task_labels.c.task_id.in_(by_task))
        .order_by(Label.name_key)
    )
    for task_id, label in rows:
        by_task[task_id].append(label)
    for task in tasks:
        set_committed_value(task, "labels", by_task[task.id])


def get_label_for(actor: User, label_id: int) -> Label:
    """The actor's own label; anyone else's, or none, is NotFound (admins too: labels are
    personal)."""
    label = db.session.get(Label, label_id) if valid_id(label_id) else None
    if label is None or label.owner_id != actor.id:
        raise NotFound("label", label_id)
    return label


def _check_colour(colour: str | None) -> str:
    if colour not in LABEL_COLOURS:
        raise Invalid({"colour": [f"Choose one of {', '.join(LABEL_COLOURS)}."]})
    return colour


def _name_taken(owner_id: int, key: str, except_id: int | None = None) -> bool:
    query = sa.select(Label.id).where(Label.owner_id == owner_id, Label.name_key == key)
    if except_id is not None:
        query = query.where(Label.id != except_id)
    return db.session.scalar(query) is not None


def _taken_error(name: str) -> Invalid:
    return Invalid({"name": [f"You already have a label called “{name}”."]})


def next_colour(owner_id: int) -> str:
    """A colour for a new label: the palette in turn, so new labels look different."""
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Label).where(Label.owner_id == owner_id)
    ) or 0
    return LABEL_COLOURS[count % len(LABEL_COLOURS)]


def create_label(actor: User, name: str, colour: str | None = None) -> Label:
    """Create a label of the actor's; its name must be new to them (case-insensitively)."""
    errors = nul_errors(name=name)
    if errors:
        raise Invalid(errors)
    name = clean_name(name)
    colour = _check_colour(colour) if colour else next_colour(actor.id)
    if _name_taken(actor.id, name_key(name)):
        raise _taken_error(name)
    label = Label(owner_id=actor.id, name=name, name_key=name_key(name), colour=colour)
    db.session.add(label)
    audit.record(actor, "label.create", label, {"name": name, "colour": colour})
    _commit_or_taken(name)
    return label


def update_label(actor: User, label_id: int, name: str, colour: str) -> Label:
    """Rename and/or recolour one of the actor's labels."""
    label = get_label_for(actor, label_id)
    errors = nul_errors(name=name)
    if errors:
        raise Invalid(errors)
    name = clean_name(name)
    colour = _check_colour(colour)
    if _name_taken(actor.id, name_key(name), except_id=label.id):
        raise _taken_error(name)
    before = {"name": label.name, "colour": label.colour}
    label.name, label.name_key, label.colour = name, name_key(name), colour
    changes = audit.field_changes(label, before)
    if changes:
        audit.record(actor, "label.update", label, changes)
    _commit_or_taken(name)
    return label


def delete_label(actor: User, label_id: int) -> Label:
    """Delete one of the actor's labels; its tasks simply lose it."""
    label = get_label_for(actor, label_id)
    audit.record(actor, "label.delete", label, {"name": label.name})
    db.session.delete(label)
    db.session.commit()
    return label


def _commit_or_taken(name: str) -> None:
    """Commit; a twin created at the same moment (unique index) is the name-taken error."""
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise _taken_error(name) from None


def check_names(names: Iterable[str]) -> list[str]:
    """Label names for a task, "#" removed, duplicates (case-insensitive) dropped; Invalid
    naming the first bad one."""
    cleaned: dict[str, str] = {}
    for raw in names:
        name = (raw or "").strip().removeprefix("#")
        if not name:
            continue
        if not is_label_name(name):
            raise Invalid({"labels": [
                f"“{name[:40]}” is not a label name: use {LABEL_NAME_RULE}."]})
        cleaned.setdefault(name_key(name), name)
    if len(cleaned) > MAX_LABELS_PER_TASK:
        raise Invalid({"labels": [f"A task carries at most {MAX_LABELS_PER_TASK} labels."]})
    return list(cleaned.values())


def resolve_labels(owner_id: int, names: list[str]) -> list[Label]:
    """The owner's labels with these (checked) names, creating the missing ones in the
    caller's transaction. A label created at the same moment by another request is found
    instead of duplicated (the unique index decides, inside a savepoint)."""
    if not names:
        return []
    keys = {name_key(name): name for name in names}
    found = {label.name_key: label for label in db.session.scalars(
        sa.select(Label).where(Label.owner_id == owner_id, Label.name_key.in_(keys))
    )}
    colour_index = None
    for key, name in keys.items():
        if key in found:
            continue
        if colour_index is None:
            colour_index = LABEL_COLOURS.index(next_colour(owner_id))
        label = Label(owner_id=owner_id, name=name, name_key=key,
                      colour=LABEL_COLOURS[colour_index % len(LABEL_COLOURS)])
        colour_index += 1
        try:
            with db.session.begin_nested():
                db.session.add(label)
        except sa.exc.IntegrityError:
            label = db.session.scalar(
                sa.select(Label).where(Label.owner_id == owner_id, Label.name_key == key)
            )
        found[key] = label
    return [found[key] for key in keys]
