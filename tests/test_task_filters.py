"""Filters, search, sorting and paging of task lists (the service both pages and API use),
checked against known data on whichever database the suite runs on."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from tests.factories import add_task
from webapp.extensions import db
from webapp.models import Task, User, utcnow
from webapp.services.task_queries import (
    TaskFilters,
    filtered_tasks,
    paginate_tasks,
    task_filters_from_args,
)

TODAY = utcnow().date()
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def data(ctx, user, other_user, admin):
    """Five tasks of alice's and one of oscar's; returns {name: id} and the actors."""
    specs = {
        "milk": dict(title="Buy Milk", description="From the CORNER shop", status="pending",
                     priority="high", due_date=TODAY, created_at=datetime(2026, 1, 10, 9)),
        "report": dict(title="write report", status="in-progress", priority="medium",
                       due_date=YESTERDAY, created_at=datetime(2026, 1, 11, 0, 0, 0)),
        "mum": dict(title="Call mum", status="completed", priority="low", due_date=YESTERDAY,
                    created_at=datetime(2026, 1, 12, 23, 59, 59),
                    completions=(datetime(2026, 1, 13),)),
        "shake": dict(title="Milkshake recipe", status="pending", priority="low",
                      created_at=datetime(2026, 1, 13, 12)),
        "percent": dict(title="100% done_ish", status="in-progress", priority="high",
                        due_date=TODAY + timedelta(days=30), created_at=datetime(2026, 1, 14)),
    }
    tasks = {name: add_task(user.id, **spec) for name, spec in specs.items()}
    tasks["oscar"] = add_task(other_user.id, "Milk for oscar", datetime(2026, 1, 12),
                              priority="medium")
    db.session.commit()
    ids = {name: task.id for name, task in tasks.items()}
    return ids, db.session.get(User, user.id), db.session.get(User, admin.id)


def ids_for(actor, **values) -> list[int]:
    return [t.id for t in db.session.scalars(filtered_tasks(actor, TaskFilters(**values)))]


def names(ids: dict[str, int], found: list[int]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[i] for i in found]


@pytest.mark.parametrize(("values", "expected"), [
    ({"status": "pending"}, {"milk", "shake"}),
    ({"status": "in-progress"}, {"report", "percent"}),
    ({"status": "completed"}, {"mum"}),
    ({"priority": "low"}, {"mum", "shake"}),
    ({"priority": "high", "status": "pending"}, {"milk"}),
    ({"due": "overdue"}, {"report"}),
    ({"due": "today"}, {"milk"}),
    ({"due": "none"}, {"shake"}),
    ({"created_from": date(2026, 1, 12)}, {"mum", "shake", "percent"}),
    ({"created_to": date(2026, 1, 11)}, {"milk", "report"}),
    ({"created_from": date(2026, 1, 11), "created_to": date(2026, 1, 12)}, {"report", "mum"}),
])
def test_user_filters_own_tasks_to_matching_rows(data, values, expected):
    ids, alice, _ = data
    assert set(names(ids, ids_for(alice, **values))) == expected


def test_user_due_this_week_matches_monday_to_sunday(data):
    ids, alice, _ = data
    monday = TODAY - timedelta(days=TODAY.weekday())
    week = {monday + timedelta(days=n) for n in range(7)}
    due = {"milk": TODAY, "report": YESTERDAY, "mum": YESTERDAY,
           "percent": TODAY + timedelta(days=30)}
    expected = {name for name, day in due.items() if day in week}
    assert set(names(ids, ids_for(alice, due="week"))) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("milk", {"milk", "shake"}),
    ("MILK", {"milk", "shake"}),
    ("mIlKsHaKe", {"shake"}),
    ("corner", {"milk"}),  # the description is searched too
    ("100%", {"percent"}),  # % and _ are matched literally, not as wildcards
    ("_", {"percent"}),
    ("no such words", set()),
])
def test_user_search_is_case_insensitive_over_title_and_description(data, q, expected):
    ids, alice, _ = data
    assert set(names(ids, ids_for(alice, q=q))) == expected


def test_admin_search_finds_every_owners_tasks(data):
    ids, _, root = data
    assert set(names(ids, ids_for(root, q="milk"))) == {"milk", "shake", "oscar"}


def test_admin_filters_by_owner(data, other_user):
    ids, _, root = data
    assert names(ids, ids_for(root, owner_id=other_user.id)) == ["oscar"]


def test_user_filtering_by_another_owner_gets_nothing(data, other_user):
    _, alice, _ = data
    assert ids_for(alice, owner_id=other_user.id) == []


@pytest.mark.parametrize(("sort", "order", "expected"), [
    ("created", "desc", ["percent", "shake", "mum", "report", "milk"]),
    ("created", "asc", ["milk", "report", "mum", "shake", "percent"]),
    ("title", "asc", ["percent", "milk", "mum", "shake", "report"]),
    ("title", "desc", ["report", "shake", "mum", "milk", "percent"]),
    ("priority", "asc", ["mum", "shake", "report", "milk", "percent"]),
    ("priority", "desc", ["percent", "milk", "report", "shake", "mum"]),
    ("status", "asc", ["milk", "shake", "report", "percent", "mum"]),
    # Undated tasks come last in both directions; equal dates fall back to the id.
    ("due", "asc", ["report", "mum", "milk", "percent", "shake"]),
    ("due", "desc", ["percent", "milk", "mum", "report", "shake"]),
])
def test_user_sorts_tasks_in_the_requested_order(data, sort, order, expected):
    ids, alice, _ = data
    assert names(ids, ids_for(alice, sort=sort, order=order)) == expected


def test_user_sorts_by_updated_time(data):
    ids, alice, _ = data
    task = db.session.get(Task, ids["milk"])
    task.updated_at = datetime(2027, 1, 1)
    db.session.commit()
    assert names(ids, ids_for(alice, sort="updated"))[0] == "milk"


@pytest.mark.parametrize(("page", "expected_names", "has_next"), [
    (1, ["percent", "shake"], True),
    (2, ["mum", "report"], True),
    (3, ["milk"], False),
    (4, [], False),
])
def test_user_pages_through_tasks_two_at_a_time(data, page, expected_names, has_next):
    ids, alice, _ = data
    pagination = paginate_tasks(alice, TaskFilters(page=page, per_page=2))
    assert pagination.total == 5
    assert pagination.pages == 3
    assert names(ids, [t.id for t in pagination.items]) == expected_names
    assert pagination.has_next is has_next


@pytest.mark.parametrize(("args", "bad_param"), [
    ({"status": "done"}, "status"),
    ({"priority": "urgent"}, "priority"),
    ({"owner": "abc"}, "owner"),
    ({"owner": "-1"}, "owner"),
    ({"q": "x" * 201}, "q"),
    ({"q": "a\x00b"}, "q"),
    ({"created_from": "2026-02-31"}, "created_from"),
    ({"created_from": "yesterday"}, "created_from"),
    ({"created_to": "2026-1-5"}, "created_to"),
    ({"created_from": "2026-03-02", "created_to": "2026-03-01"}, "created_to"),
    ({"due": "later"}, "due"),
    ({"sort": "owner"}, "sort"),
    ({"order": "sideways"}, "order"),
    ({"page": "0"}, "page"),
    ({"page": "abc"}, "page"),
    ({"page": "-3"}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": "99999999999999999999999"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "101"}, "per_page"),
])
def test_bad_filter_value_is_left_out_with_a_message(args, bad_param):
    filters, errors = task_filters_from_args(args)
    assert list(errors) == [bad_param]
    assert filters == TaskFilters(**({"created_from": date(2026, 3, 2)}
                                     if bad_param == "created_to" and "created_from" in args
                                     else {}))


def test_filters_parse_from_their_own_query_params():
    filters = TaskFilters(status="in-progress", priority="low", owner_id=7, q="a b&c",
                          created_from=date(2026, 1, 1), created_to=date(2026, 2, 1),
                          due="week", sort="title", order="desc", page=3, per_page=50)
    assert task_filters_from_args(filters.query_params()) == (filters, {})
    # A sort's usual direction is left out of the URL: one address for one view.
    usual = TaskFilters(sort="title")
    assert usual.query_params() == {"sort": "title"}
    assert task_filters_from_args({"sort": "title", "order": "asc"}) == (usual, {})


def test_query_params_leave_defaults_out_and_apply_changes():
    filters = TaskFilters(status="pending", page=4)
    assert filters.query_params() == {"status": "pending", "page": "4"}
    assert filters.query_params(page=None) == {"status": "pending"}
    assert filters.query_params(page=2) == {"status": "pending", "page": "2"}
    assert TaskFilters(owner_id=3).query_params() == {"owner": "3"}


def test_in_progress_alias_is_accepted():
    filters, errors = task_filters_from_args({"status": "in_progress"})
    assert (filters.status, errors) == ("in-progress", {})


STATUSES = ("pending", "in-progress", "completed")
PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3}
STATUS_RANK = {"pending": 1, "in-progress": 2, "completed": 3}


def expected_order(rows: list[dict], sort: str, order: str) -> list[int]:
    """The order the list promises, computed in Python from the rows."""
    key = {
        "created": lambda r: r["created_at"], "updated": lambda r: r["updated_at"],
        "due": lambda r: r["due_date"], "priority": lambda r: PRIORITY_RANK[r["priority"]],
        "title": lambda r: r["title"].lower(), "status": lambda r: STATUS_RANK[r["status"]],
    }[sort]
    reverse = order == "desc"
    dated = [r for r in rows if sort != "due" or r["due_date"] is not None]
    undated = [r for r in rows if sort == "due" and r["due_date"] is None]
    ordered = sorted(dated, key=lambda r: (key(r), r["id"]), reverse=reverse)
    undated.sort(key=lambda r: r["id"], reverse=reverse)
    return [r["id"] for r in ordered + undated]


def expected_page_order(rows: list[dict], sort: str, order: str) -> list[int]:
    """The list page's order: open tasks first, then completed ones, each in the sort's
    order; sorted by status, the status decides."""
    if sort == "status":
        return expected_order(rows, sort, order)
    open_rows = [r for r in rows if r["status"] != "completed"]
    done = [r for r in rows if r["status"] == "completed"]
    return expected_order(open_rows, sort, order) + expected_order(done, sort, order)


def test_thousand_tasks_give_the_right_rows_for_every_filter_sort_and_page(ctx, user):
    """1,000 generated tasks of one user: each filter, each sort both ways, first, middle and
    last page, compared with the same selection done in Python."""
    rng = random.Random(1234)
    words = ["alpha", "Bravo", "charlie", "DELTA", "echo", "foxtrot"]
    base = datetime(2026, 1, 1)
    rows, tasks = [], []
    for n in range(1000):
        status = rng.choice(STATUSES)
        created = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 90))
        due = None if rng.random() < 0.3 else TODAY + timedelta(days=rng.randrange(-20, 20))
        title = f"{rng.choice(words)} {rng.choice(words)} {n}"
        task = add_task(user.id, title, created, status=status,
                        priority=rng.choice(list(PRIORITY_RANK)), due_date=due,
                        completions=(created + timedelta(hours=1),)
                        if status == "completed" else ())
        tasks.append(task)
    db.session.commit()
    for task in tasks:
        rows.append(dict(id=task.id, title=task.title, status=task.status,
                         priority=task.priority, due_date=task.due_date,
                         created_at=task.created_at, updated_at=task.updated_at))
    alice = db.session.get(User, user.id)
    monday = TODAY - timedelta(days=TODAY.weekday())
    checks = {
        "all": ({}, lambda r: True),
        "status": ({"status": "in-progress"}, lambda r: r["status"] == "in-progress"),
        "priority": ({"priority": "high"}, lambda r: r["priority"] == "high"),
        "search": ({"q": "bravo"}, lambda r: "bravo" in r["title"].lower()),
        "created": ({"created_from": date(2026, 2, 1), "created_to": date(2026, 2, 28)},
                    lambda r: date(2026, 2, 1) <= r["created_at"].date() <= date(2026, 2, 28)),
        "overdue": ({"due": "overdue"}, lambda r: r["due_date"] is not None
                    and r["due_date"] < TODAY and r["status"] != "completed"),
        "today": ({"due": "today"}, lambda r: r["due_date"] == TODAY),
        "week": ({"due": "week"}, lambda r: r["due_date"] is not None
                 and monday <= r["due_date"] <= monday + timedelta(days=6)),
        "none": ({"due": "none"}, lambda r: r["due_date"] is None),
    }
    for name, (values, predicate) in checks.items():
        matching = [r for r in rows if predicate(r)]
        for sort in ("created", "updated", "due", "priority", "title", "status"):
            for order in ("asc", "desc"):
                expected = expected_order(matching, sort, order)
                filters = TaskFilters(sort=sort, order=order, per_page=25, **values)
                first = paginate_tasks(alice, filters)
                assert first.total == len(matching), name
                pages = sorted({1, max(first.pages // 2, 1), max(first.pages, 1)})
                for page in pages:
                    got = [t.id for t in paginate_tasks(alice, TaskFilters(
                        sort=sort, order=order, per_page=25, page=page, **values)).items]
                    want = expected[(page - 1) * 25: page * 25]
                    assert got == want, (name, sort, order, page)
