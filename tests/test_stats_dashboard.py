"""Dashboard figures against values computed by hand for a fixed data set whose tasks and
completions sit just inside and just outside the period 2026-03-01 .. 2026-03-31."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.factories import add_task
from webapp.extensions import db
from webapp.models import User
from webapp.services import stats
from webapp.services.errors import Forbidden

MARCH = stats.Period(date(2026, 3, 1), date(2026, 3, 31))
LONG_AGO = date(2000, 1, 1)  # overdue whatever today is
FAR_AHEAD = date(2999, 1, 1)
TODAY = date(2026, 11, 22)


@pytest.fixture
def dataset(ctx, user, other_user, admin):
    """alice (user) and oscar (other_user) tasks; see the comments for what counts."""
    a, b = user.id, other_user.id
    # alice -----------------------------------------------------------------------------
    # Created one second before the period; its completion (31 s later) is inside it.
    add_task(a, "a1", datetime(2026, 2, 28, 23, 59, 59), "completed", "high",
             completions=(datetime(2026, 3, 1, 0, 0, 30),))
    # First instant of the period, overdue.
    add_task(a, "a2", datetime(2026, 3, 1), "pending", "low", LONG_AGO)
    # Completed after exactly 2 days.
    add_task(a, "a3", datetime(2026, 3, 10, 12), "completed", "medium",
             completions=(datetime(2026, 3, 12, 12),))
    # Last instant of the period, overdue.
    add_task(a, "a4", datetime(2026, 3, 31, 23, 59, 59), "in-progress", "high", LONG_AGO)
    # First instant after the period: neither it nor its completion count.
    add_task(a, "a5", datetime(2026, 4, 1), "completed", "low",
             completions=(datetime(2026, 4, 2),))
    # Completed after 6 hours, then reopened: the completion counts, the task is pending.
    add_task(a, "a6", datetime(2026, 3, 15, 10), "pending", "medium", FAR_AHEAD,
             completions=(datetime(2026, 3, 15, 16),), reopened_at=datetime(2026, 3, 20))
    # Completed after 1 day; its past due date does not make it overdue.
    add_task(a, "a7", datetime(2026, 3, 5), "completed", "low", LONG_AGO,
             completions=(datetime(2026, 3, 6),))
    # oscar -----------------------------------------------------------------------------
    add_task(b, "b1", datetime(2026, 3, 2, 9), "completed", "high",
             completions=(datetime(2026, 3, 4, 9),))
    add_task(b, "b2", datetime(2026, 3, 31, 8), "pending", "medium", LONG_AGO)
    # Created before the period, completed inside it after 75 days 23 hours.
    add_task(b, "b3", datetime(2026, 1, 15), "completed", "medium",
             completions=(datetime(2026, 3, 31, 23),))
    db.session.commit()
    return (db.session.get(User, a), db.session.get(User, b),
            db.session.get(User, admin.id))


def board(actor, owner_id=None, period=MARCH):
    return stats.dashboard(actor, stats.DashboardQuery(period, None, owner_id), today=TODAY)


def test_user_dashboard_counts_only_their_tasks_created_in_the_period(dataset):
    alice, _, _ = dataset
    figures = board(alice)
    assert figures.by_status == {"pending": 2, "in-progress": 1, "completed": 2}
    assert figures.by_priority == {"low": 2, "medium": 2, "high": 1}
    assert figures.total == 5
    assert figures.overdue == 2
    assert figures.completion_rate == pytest.approx(0.4)


def test_user_dashboard_completions_come_from_the_history(dataset):
    alice, _, _ = dataset
    figures = board(alice)
    assert figures.completed_in_period == 4
    # (31 s + 2 days + 6 hours + 1 day) / 4
    assert figures.average_completion_seconds == pytest.approx(
        (31 + 172_800 + 21_600 + 86_400) / 4, abs=0.01)


def test_user_dashboard_per_day_series(dataset):
    alice, _, _ = dataset
    figures = board(alice)
    assert figures.bar_days == 1
    assert len(figures.bars) == 31
    created = {bar.start: bar.created for bar in figures.bars if bar.created}
    completed = {bar.start: bar.completed for bar in figures.bars if bar.completed}
    assert created == {date(2026, 3, 1): 1, date(2026, 3, 5): 1, date(2026, 3, 10): 1,
                       date(2026, 3, 15): 1, date(2026, 3, 31): 1}
    assert completed == {date(2026, 3, 1): 1, date(2026, 3, 6): 1, date(2026, 3, 12): 1,
                         date(2026, 3, 15): 1}
    assert figures.users is None


def test_user_cannot_narrow_the_dashboard_to_another_user(dataset):
    alice, oscar, _ = dataset
    assert board(alice, owner_id=oscar.id).total == 5


def test_admin_dashboard_counts_everyones_tasks(dataset):
    _, _, root = dataset
    figures = board(root)
    assert figures.by_status == {"pending": 3, "in-progress": 1, "completed": 3}
    assert figures.by_priority == {"low": 2, "medium": 3, "high": 2}
    assert figures.overdue == 3
    assert figures.completion_rate == pytest.approx(3 / 7)
    assert figures.completed_in_period == 6
    assert figures.average_completion_seconds == pytest.approx(
        (31 + 172_800 + 21_600 + 86_400 + 172_800 + 6_562_800) / 6, abs=0.01)


def test_admin_dashboard_lists_every_user_with_tasks_by_status(dataset):
    alice, oscar, root = dataset
    rows = {row.user.username: (row.by_status, row.total) for row in board(root).users}
    assert rows == {
        "alice": ({"pending": 2, "in-progress": 1, "completed": 2}, 5),
        "oscar": ({"pending": 1, "in-progress": 0, "completed": 1}, 2),
        "root": ({"pending": 0, "in-progress": 0, "completed": 0}, 0),
    }


def test_admin_narrows_the_dashboard_to_one_user(dataset):
    _, oscar, root = dataset
    figures = board(root, owner_id=oscar.id)
    assert figures.by_status == {"pending": 1, "in-progress": 0, "completed": 1}
    assert figures.overdue == 1
    assert figures.completed_in_period == 2
    assert figures.average_completion_seconds == pytest.approx(
        (172_800 + 6_562_800) / 2, abs=0.01)


def test_all_time_counts_every_task_and_starts_the_chart_at_the_first(dataset):
    alice, _, _ = dataset
    figures = board(alice, period=stats.Period())
    assert figures.total == 7
    assert figures.completed_in_period == 5
    assert figures.chart_start == date(2026, 2, 28)
    assert figures.bar_days == 7  # more than 180 days up to TODAY: a bar per week
    assert figures.created_total == 7
    assert figures.completed_total == 5


def test_dashboard_without_tasks_has_no_rate_and_no_average(ctx, user):
    alice = db.session.get(User, user.id)
    figures = board(alice)
    assert figures.total == 0
    assert figures.completion_rate is None
    assert figures.average_completion_seconds is None


def test_user_task_counts_refused_to_users(dataset):
    alice, _, _ = dataset
    with pytest.raises(Forbidden):
        stats.user_task_counts(alice)


@pytest.mark.parametrize(("args", "period", "preset"), [
    ({}, stats.Period(date(2026, 10, 24), TODAY), "30"),
    ({"period": "7"}, stats.Period(date(2026, 11, 16), TODAY), "7"),
    ({"period": "90"}, stats.Period(date(2026, 8, 25), TODAY), "90"),
    ({"period": "all"}, stats.Period(), "all"),
    ({"start": "2026-03-01", "end": "2026-03-31"}, MARCH, None),
    ({"start": "2026-03-01", "period": "7"}, stats.Period(date(2026, 3, 1), None), None),
])
def test_dashboard_period_from_presets_and_dates(ctx, user, args, period, preset):
    alice = db.session.get(User, user.id)
    query, errors = stats.parse_dashboard_query(args, alice, today=TODAY)
    assert (query.period, query.preset, errors) == (period, preset, {})


@pytest.mark.parametrize(("args", "bad"), [
    ({"period": "365"}, "period"),
    ({"start": "2026-02-30"}, "start"),
    ({"end": "soon"}, "end"),
    ({"start": "2026-03-02", "end": "2026-03-01"}, "end"),
    ({"user": "abc"}, "user"),
])
def test_bad_dashboard_parameter_is_named_and_ignored(ctx, admin, args, bad):
    root = db.session.get(User, admin.id)
    _, errors = stats.parse_dashboard_query(args, root, today=TODAY)
    assert list(errors) == [bad]


def test_user_naming_a_user_on_the_dashboard_is_told_it_was_ignored(ctx, user, other_user):
    alice = db.session.get(User, user.id)
    query, errors = stats.parse_dashboard_query({"user": str(other_user.id)}, alice)
    assert query.owner_id is None
    assert "user" in errors


def test_far_future_end_date_does_not_overflow(dataset):
    alice, _, _ = dataset
    figures = board(alice, period=stats.Period(date(1, 1, 1), date.max))
    assert figures.total == 7
    assert len(figures.bars) < 400


def test_dashboard_user_id_is_capped_at_the_largest_id(ctx, admin):
    root = db.session.get(User, admin.id)
    query, errors = stats.parse_dashboard_query({"user": str(2**31)}, root, today=TODAY)
    assert query.owner_id is None and list(errors) == ["user"]


@pytest.mark.parametrize("period", [
    stats.Period(date(1, 1, 1), None),
    stats.Period(date(1, 1, 1), date(1, 1, 1)),
    stats.Period(None, date(1, 3, 1)),
    stats.Period(date(1, 1, 1), date.max),
])
def test_chart_of_a_user_without_tasks_is_bounded_whatever_the_dates(ctx, user, period):
    alice = db.session.get(User, user.id)
    figures = board(alice, period=period)
    assert len(figures.bars) <= stats.MAX_DAILY_BARS + 1
    assert figures.total == 0


def test_chart_from_year_one_starts_shortly_before_the_first_task(dataset):
    alice, _, _ = dataset
    figures = board(alice, period=stats.Period(date(1, 1, 1), None))
    assert figures.chart_start >= date(2026, 2, 28) - stats.timedelta(days=stats.MAX_DAILY_BARS)
    assert figures.total == 7
