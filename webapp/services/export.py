"""CSV export of a filtered task list, streamed in chunks so memory stays flat."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

from ..extensions import db
from ..models import User
from .task_queries import TaskFilters, filtered_tasks

CSV_COLUMNS = (
    "id", "title", "description", "status", "priority", "due_date", "owner",
    "created_at", "updated_at", "completed_at",
)
CHUNK_ROWS = 500
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value) -> str:
    """The cell as text, with a leading quote when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def tasks_csv(actor: User, filters: TaskFilters) -> Iterator[str]:
    """Yield the CSV of every task the filters match (all pages), in the list's order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    query = filtered_tasks(actor, filters).execution_options(yield_per=CHUNK_ROWS)
    for count, task in enumerate(db.session.scalars(query), start=1):
        writer.writerow([neutralise_cell(value) for value in (
            task.id, task.title, task.description, task.status, task.priority, task.due_date,
            task.owner.username, task.created_at, task.updated_at, task.completed_at,
        )])
        if count % CHUNK_ROWS == 0:
            yield flush()
    yield flush()
