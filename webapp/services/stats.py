"""Task statistics, computed in the database (GROUP BY), scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import STATUSES, Task, User
from .permissions import can
from .task_queries import start_of_day


@dataclass(frozen=True)
class Period:
    """Tasks created from `start` to `end`, both days included; None means unbounded."""

    start: date | None = None
    end: date | None = None


def _scoped(query: sa.Select, actor: User, period: Period | None, owner_id: int | None):
    if not can(actor, "view_all_stats"):
        query = query.where(Task.owner_id == actor.id)
    elif owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    if period and period.start:
        query = query.where(Task.created_at >= start_of_day(period.start))
    if period and period.end:
        query = query.where(Task.created_at < start_of_day(period.end + timedelta(days=1)))
    return query


def status_counts(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> dict[str, int]:
    """Number of visible tasks per status (every status present, zero when none)."""
    query = _scoped(
        sa.select(Task.status, sa.func.count()).group_by(Task.status), actor, period, owner_id
    )
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: n for status, n in db.session.execute(query)})
    return counts


def owner_counts(actor: User, period: Period | None = None) -> dict[str, int]:
    """Number of visible tasks per owner's username (users with no task are left out)."""
    query = _scoped(
        sa.select(User.username, sa.func.count(Task.id))
        .join(User, User.id == Task.owner_id)
        .group_by(User.username)
        .order_by(User.username),
        actor, period, None,
    )
    return {username: n for username, n in db.session.execute(query)}


def visible_user_count(actor: User) -> int:
    """How many accounts the actor may see: everyone for an admin, else only themself."""
    if not can(actor, "manage_users"):
        return 1
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0
