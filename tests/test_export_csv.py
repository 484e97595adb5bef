"""CSV export: exactly the filtered, sorted rows of every page, streamed, formula-safe."""

from __future__ import annotations

import csv
import io
import re

import pytest

from webapp.services.export import neutralise_cell

ROW_ID = re.compile(r'<tr id="task-(\d+)"')


def read_csv(resp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


@pytest.fixture
def sixty(user, other_user, make_task):
    for n in range(60):
        make_task(user, f"Report {n:02d}" if n % 2 else f"Errand {n:02d}",
                  priority=("low", "medium", "high")[n % 3],
                  description="quarterly" if n % 4 == 0 else None)
    make_task(other_user, "Report of oscar")


def test_user_downloads_the_filtered_list_as_csv(user_client, sixty):
    resp = user_client.get("/tasks/export.csv?q=report&priority=high&sort=title&order=asc")
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.is_streamed
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="tasks-')
    rows = read_csv(resp)
    assert rows[0] == ["id", "title", "description", "status", "priority", "due_date", "owner",
                       "created_at", "updated_at", "completed_at"]
    titles = [row[1] for row in rows[1:]]
    assert titles == sorted(titles)
    assert all(title.startswith("Report") for title in titles)
    assert {row[4] for row in rows[1:]} == {"high"}
    assert {row[6] for row in rows[1:]} == {"alice"}


def test_csv_matches_every_page_of_the_filtered_list(user_client, sixty):
    query = "q=report&sort=priority&order=desc&per_page=10"
    listed = []
    for page in (1, 2, 3):
        html = user_client.get(f"/tasks?{query}&page={page}").get_data(as_text=True)
        listed += [int(n) for n in ROW_ID.findall(html)]
    exported = [int(row[0]) for row in read_csv(user_client.get(f"/tasks/export.csv?{query}"))[1:]]
    assert len(listed) == 30
    assert exported == listed


def test_csv_link_on_the_list_carries_the_filters_but_not_the_page(user_client, sixty):
    html = user_client.get("/tasks?priority=low&page=2&per_page=10").get_data(as_text=True)
    assert 'href="/tasks/export.csv?priority=low"' in html


def test_csv_neutralises_spreadsheet_formulas(user_client, user, make_task):
    make_task(user, "=HYPERLINK(\"http://evil.example\")", description="+cmd|' /C calc'!A0")
    make_task(user, "@SUM(A1)", description="-2+3")
    rows = read_csv(user_client.get("/tasks/export.csv?sort=title&order=asc"))
    cells = {cell for row in rows[1:] for cell in row[1:3]}
    assert cells == {"'=HYPERLINK(\"http://evil.example\")", "'+cmd|' /C calc'!A0",
                     "'@SUM(A1)", "'-2+3"}


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("plain", "plain"), ("a=b", "a=b"), (None, ""), (42, "42"),
])
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


def test_user_csv_holds_none_of_another_users_tasks(user_client, other_user, make_task):
    make_task(other_user, "Oscar's secret")
    rows = read_csv(user_client.get("/tasks/export.csv"))
    assert rows[1:] == []


def test_bad_filter_on_export_is_ignored_not_500(user_client, sixty):
    resp = user_client.get("/tasks/export.csv?page=abc&status=nope&created_from=x")
    assert resp.status_code == 200
    assert len(read_csv(resp)) == 61


def test_anonymous_export_goes_to_login(client):
    assert client.get("/tasks/export.csv").status_code == 302


def test_csv_streams_more_rows_than_one_chunk_in_list_order(app, user_client, user):
    from datetime import datetime, timedelta

    from tests.factories import add_task
    from webapp.extensions import db
    from webapp.services.export import CHUNK_ROWS

    with app.app_context():
        tasks = [add_task(user.id, f"Bulk {n:04d}", datetime(2026, 1, 1) + timedelta(minutes=n))
                 for n in range(CHUNK_ROWS * 2 + 7)]
        db.session.commit()
        expected = [t.id for t in tasks]
    resp = user_client.get("/tasks/export.csv?sort=created&order=asc")
    chunks = [c.decode() if isinstance(c, bytes) else c for c in resp.response]
    assert len(chunks) >= 3  # header, then a chunk per CHUNK_ROWS rows
    ids = [int(row[0]) for row in list(csv.reader(io.StringIO("".join(chunks))))[1:]]
    assert ids == expected
