"""The dashboard page: scoping, the period controls, htmx fragments, charts with text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.factories import add_task
from webapp.extensions import db
from webapp.models import utcnow


def figure(html: str, name: str) -> str:
    match = re.search(rf'id="stat-{name}">([^<]*)<', html)
    assert match, name
    return match.group(1)


@pytest.fixture
def march(app, user, other_user):
    """alice: 3 tasks in March 2026 (one completed after a day), 1 in April; oscar: 2."""
    with app.app_context():
        add_task(user.id, "a1", datetime(2026, 3, 2), "completed",
                 completions=(datetime(2026, 3, 3),))
        add_task(user.id, "a2", datetime(2026, 3, 10), "pending")
        add_task(user.id, "a3", datetime(2026, 3, 31, 23), "in-progress", "high")
        add_task(user.id, "a4", datetime(2026, 4, 1), "pending")
        add_task(other_user.id, "b1", datetime(2026, 3, 5), "pending")
        add_task(other_user.id, "b2", datetime(2026, 3, 6), "pending")
        db.session.commit()
        db.session.remove()


MARCH = "/dashboard?start=2026-03-01&end=2026-03-31"


def test_user_sees_only_their_own_figures(user_client, march):
    resp = user_client.get(MARCH)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert figure(html, "total") == "3"
    assert figure(html, "rate") == "33%"
    assert figure(html, "completed") == "1"
    assert figure(html, "average") == "1 day"
    assert 'id="user-table"' not in html


def test_admin_sees_everyones_figures_and_the_user_table(admin_client, march):
    html = admin_client.get(MARCH).get_data(as_text=True)
    assert figure(html, "total") == "5"
    assert 'id="user-table"' in html
    assert re.search(r'id="user-row-\d+".*?alice.*?<td>1</td><td>1</td><td>1</td>\s*<td>3</td>',
                     html, re.S)


def test_admin_narrows_the_dashboard_to_one_user(admin_client, march, other_user):
    html = admin_client.get(MARCH + f"&user={other_user.id}").get_data(as_text=True)
    assert figure(html, "total") == "2"
    assert "owned by Oscar Other" in html


def test_user_naming_another_user_still_sees_only_their_own(user_client, march, other_user):
    html = user_client.get(MARCH + f"&user={other_user.id}").get_data(as_text=True)
    assert figure(html, "total") == "3"
    assert "Only admins can see another user" in html


def test_period_change_from_htmx_gets_only_the_dashboard_body(user_client, march):
    resp = user_client.hx_get(MARCH)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in html
    assert '<section id="dashboard-body"' in html
    assert 'hx-push-url="true"' in html


def test_flow_chart_is_inline_svg_with_a_table_alternative(user_client, march):
    html = user_client.get(MARCH).get_data(as_text=True)
    assert '<svg viewBox="0 0 720 220" role="img" aria-labelledby="flow-title"' in html
    assert 'class="bar created"' in html and 'class="bar completed"' in html
    assert "3 created and 1 completed" in html
    table = html.split('id="flow-table"')[1].split("</table>")[0]
    assert re.search(r"2026-03-02</time></th><td>1</td><td>0</td>", table)
    assert re.search(r"2026-03-03</time></th><td>0</td><td>1</td>", table)


def test_counts_by_status_and_priority_are_tables(user_client, march):
    html = user_client.get(MARCH).get_data(as_text=True)
    status = html.split('id="by-status"')[1].split("</table>")[0]
    assert re.search(r"Pending</th>\s*<td class=\"count\">1</td>", status)
    priority = html.split('id="by-priority"')[1].split("</table>")[0]
    assert re.search(r"High</th>\s*<td class=\"count\">1</td>", priority)
    assert re.search(r"Medium</th>\s*<td class=\"count\">2</td>", priority)


def test_default_period_is_the_last_30_days(user_client, user, app):
    with app.app_context():
        now = utcnow()
        add_task(user.id, "recent", now - timedelta(days=3))
        add_task(user.id, "older", now - timedelta(days=45))
        db.session.commit()
    html = user_client.get("/dashboard").get_data(as_text=True)
    assert figure(html, "total") == "1"
    assert 'aria-current="true" class="current">30 days' in html
    html = user_client.get("/dashboard?period=90").get_data(as_text=True)
    assert figure(html, "total") == "2"


def test_preset_links_keep_the_chosen_user(admin_client, user):
    html = admin_client.get(f"/dashboard?user={user.id}").get_data(as_text=True)
    assert f'href="/dashboard?period=7&amp;user={user.id}"' in html


@pytest.mark.parametrize("query", [
    "start=2026-02-31", "end=tomorrow", "start=2026-03-02&end=2026-03-01", "period=year",
    "user=abc", "user=-1", "user=999999999", "start=0001-01-01&end=9999-12-31",
    "period=%F0%9F%98%80", "start=9999-12-31",  # NUL bytes: refused app-wide with 400
])
def test_no_dashboard_parameter_answers_500(admin_client, march, query):
    for get in (admin_client.get, admin_client.hx_get):
        assert get(f"/dashboard?{query}").status_code == 200, query


def test_bad_period_is_named_on_the_dashboard(user_client):
    html = user_client.get("/dashboard?start=2026-03-02&end=2026-03-01").get_data(as_text=True)
    assert "<strong>end</strong>: The end date is before the start date." in html


def test_anonymous_dashboard_goes_to_login(client):
    resp = client.get("/dashboard")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_htmx_dashboard_pushes_the_short_url(admin_client, user):
    resp = admin_client.hx_get(f"/dashboard?start=2026-03-01&end=&user={user.id}")
    assert resp.headers["HX-Push-Url"] == f"/dashboard?start=2026-03-01&user={user.id}"
    assert admin_client.hx_get("/dashboard?period=30").headers["HX-Push-Url"] == "/dashboard"


@pytest.mark.parametrize("user_id", [str(2**31), str(2**63 - 1)])
def test_admin_naming_a_user_id_beyond_the_id_columns_is_told_not_failed(admin_client, user_id):
    resp = admin_client.get(f"/dashboard?user={user_id}")
    assert resp.status_code == 200
    assert "User must be a user id" in resp.get_data(as_text=True)


def test_user_without_tasks_asking_for_year_one_gets_a_bounded_chart(user_client):
    resp = user_client.get("/dashboard?start=0001-01-01")
    assert resp.status_code == 200
    # The chart's first bar is at most MAX_DAILY_BARS days back, not in year one (105,000
    # weekly buckets built for nothing).
    first = re.search(r'class="x-label first">([0-9-]+)<', resp.get_data(as_text=True))
    assert first, "no first label on the chart"
    assert first.group(1) >= (utcnow().date() - timedelta(days=181 + 6)).isoformat()
