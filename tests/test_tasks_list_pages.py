"""The task list page: filter bar, htmx fragments, pager links, totals, empty states and
bad filter values."""

from __future__ import annotations

import re

import pytest

ROW_ID = re.compile(r'<tr id="task-(\d+)"')


def row_ids(resp) -> list[int]:
    return [int(n) for n in ROW_ID.findall(resp.get_data(as_text=True))]


@pytest.fixture
def thirty(user, make_task):
    """30 tasks of alice's: every third one high priority; returns ids, oldest first."""
    return [make_task(user, f"Task {n:02d}", priority="high" if n % 3 == 0 else "low")
            for n in range(30)]


def test_user_sees_the_filter_bar_as_a_get_form(user_client):
    resp = user_client.get("/tasks")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<form id="task-filters"' in html and 'method="get"' in html
    assert 'hx-push-url="true"' in html
    assert "input changed delay:300ms from:#filter-q" in html
    for label in ("Search", "Status", "Priority", "Due", "Created from", "Created to",
                  "Sort by", "Order", "Per page"):
        assert f">{label}</label>" in html


def test_user_gets_no_owner_filter(user_client, other_user):
    assert 'name="owner"' not in user_client.get("/tasks").get_data(as_text=True)


def test_admin_gets_the_owner_filter(admin_client, other_user):
    html = admin_client.get("/tasks").get_data(as_text=True)
    assert 'name="owner"' in html and "Oscar Other (oscar)" in html


def test_user_filter_request_from_htmx_gets_only_the_list(user_client, thirty):
    resp = user_client.hx_get("/tasks?priority=high")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in html and 'id="task-filters"' not in html
    assert html.lstrip().startswith('<section id="task-list"')
    assert len(row_ids(resp)) == 10
    assert "10 tasks match the filters" in html
    assert "HX-Request" in resp.headers["Vary"]


def test_history_restore_request_gets_the_whole_page(user_client, thirty):
    resp = user_client.get("/tasks?priority=high", headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true"})
    html = resp.get_data(as_text=True)
    assert "<html" in html and 'id="task-filters"' in html
    assert 'value="high" selected' in html


def test_user_sees_the_total_and_the_first_page_of_25(user_client, thirty):
    resp = user_client.get("/tasks")
    assert "30 tasks" in resp.get_data(as_text=True)
    assert row_ids(resp) == list(reversed(thirty))[:25]


def test_user_chooses_the_page_size(user_client, thirty):
    resp = user_client.get("/tasks?per_page=10&page=3")
    assert row_ids(resp) == list(reversed(thirty))[20:30]


def test_pager_links_keep_every_filter(user_client, thirty):
    html = user_client.get(
        "/tasks?priority=low&q=task&sort=title&order=desc&per_page=5&page=2").get_data(as_text=True)
    links = set(re.findall(r'href="(/tasks\?[^"]*[?&;]page=\d[^"]*)"', html))
    assert links
    for link in links:
        for part in ("priority=low", "q=task", "sort=title", "order=desc", "per_page=5"):
            assert part in link


def test_user_page_past_the_end_shows_the_last_page_and_says_so(user_client, thirty):
    resp = user_client.get("/tasks?page=99")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Page 99 is past the end; showing page 2." in html
    assert row_ids(resp) == list(reversed(thirty))[25:]


def test_empty_filtered_list_offers_to_clear_the_filters(user_client, thirty):
    html = user_client.get("/tasks?q=nothing-like-this").get_data(as_text=True)
    assert "0 tasks match the filters" in html
    assert "No tasks match these filters." in html
    assert '<a href="/tasks">Clear filters</a>' in html


def test_new_user_sees_the_empty_list_invitation(user_client):
    html = user_client.get("/tasks").get_data(as_text=True)
    assert "No tasks here yet." in html and "No tasks match" not in html


def test_filter_bar_shows_the_current_values(user_client):
    html = user_client.get(
        "/tasks?status=completed&due=week&q=milk&created_from=2026-01-02&sort=due&order=desc"
    ).get_data(as_text=True)
    assert '<option value="completed" selected>' in html
    assert '<option value="week" selected>' in html
    assert 'name="q" value="milk"' in html
    assert 'name="created_from" class="filter-date" value="2026-01-02"' in html
    assert '<option value="due" selected>' in html
    assert '<option value="desc" selected>' in html


def test_user_filtering_by_another_owner_sees_none_of_their_tasks(user_client, other_user,
                                                                   make_task):
    make_task(other_user, "Oscar's secret")
    resp = user_client.get(f"/tasks?owner={other_user.id}")
    assert resp.status_code == 200
    assert "Oscar&#39;s secret" not in resp.get_data(as_text=True)
    assert row_ids(resp) == []


def test_admin_filters_the_list_by_owner(admin_client, user, other_user, make_task):
    mine = make_task(user, "Alice's")
    make_task(other_user, "Oscar's")
    assert row_ids(admin_client.get(f"/tasks?owner={user.id}")) == [mine]


@pytest.mark.parametrize(("query", "param", "message"), [
    ("status=finished", "status", "Unknown status"),
    ("page=0", "page", "Page must be a whole number"),
    ("page=abc", "page", "Page must be a whole number"),
    ("created_from=2026-13-45", "created_from", "Use a date in the form YYYY-MM-DD."),
    ("created_from=2026-03-05&created_to=2026-03-01", "created_to",
     "The end date is before the start date."),
    ("per_page=1000", "per_page", "Page size must be"),
])
def test_bad_filter_is_named_on_the_page(user_client, thirty, query, param, message):
    resp = user_client.get(f"/tasks?{query}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Some filters were ignored" in html
    assert f"<strong>{param}</strong>" in html and message in html
    assert len(row_ids(resp)) == 25


@pytest.mark.parametrize("query", [
    "page=-1", "page=1e9", "page=%F0%9F%98%80",
    "per_page=-5", "owner=99999999999999999999999", "owner=1%27%20OR%201=1",
    "created_from=0000-00-00", "created_to=9999-12-31", "created_from=0001-01-01",
    "created_from=2026-02-29", "due=%27;DROP%20TABLE%20tasks", "sort=id", "order=%3Cscript%3E",
    "q=" + "%25" * 300, "q=%5C%25_", "status=pending&status=bogus", "page=1&page=x",
])
def test_no_filter_value_answers_500(user_client, thirty, query):
    for client_get in (user_client.get, user_client.hx_get):
        resp = client_get(f"/tasks?{query}")
        assert resp.status_code == 200, query


@pytest.mark.parametrize("query", ["status=%00", "q=%00%00"])
def test_nul_bytes_in_filters_are_refused_with_400(user_client, thirty, query):
    # The app-wide guard refuses NUL bytes (PostgreSQL cannot compare them) before any view.
    for client_get in (user_client.get, user_client.hx_get):
        assert client_get(f"/tasks?{query}").status_code == 400, query


def test_anonymous_filter_request_goes_to_login(client):
    resp = client.get("/tasks?status=pending")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_nav_links_to_the_dashboard_for_users_and_to_users_for_admins(user_client):
    html = user_client.get("/tasks").get_data(as_text=True)
    assert 'href="/dashboard"' in html and 'href="/admin/users"' not in html


def test_admin_nav_links_to_users(admin_client):
    html = admin_client.get("/tasks").get_data(as_text=True)
    assert 'href="/dashboard"' in html and 'href="/admin/users"' in html


def test_htmx_list_pushes_the_short_url(user_client, thirty):
    resp = user_client.hx_get(
        "/tasks?q=task&status=&priority=high&due=&created_from=&sort=created&order=desc"
        "&per_page=25")
    assert resp.headers["HX-Push-Url"] == "/tasks?priority=high&q=task"


def test_plain_form_submission_gives_the_same_rows_as_the_short_url(user_client, thirty):
    full = user_client.get(
        "/tasks?q=task&status=&priority=high&due=&created_from=&created_to=&sort=title"
        "&order=asc&per_page=5")
    short = user_client.get("/tasks?q=task&priority=high&sort=title&order=asc&per_page=5")
    assert row_ids(full) == row_ids(short) and len(row_ids(full)) == 5
