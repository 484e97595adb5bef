"""Dates people read: relative due dates with the ISO date kept in <time datetime>, today
and overdue marked, times in the viewer's zone (remembered per user), UTC in the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import bearer
from webapp.extensions import db
from webapp.models import Task, User
from webapp.services.dates import relative_day, today_for

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("days", "text"), [
    (0, "today"), (1, "tomorrow"), (-1, "yesterday"), (3, "in 3 days"), (-5, "5 days ago"),
    (13, "in 13 days"), (14, "7 Dec"), (-40, "14 Oct"), (60, "22 Jan 2027"),
])
def test_relative_day_reads_like_people_talk(days, text):
    assert relative_day(TODAY + timedelta(days=days), TODAY) == text


def set_zone(app, user, zone: str | None) -> None:
    with app.app_context():
        db.session.get(User, user.id).time_zone = zone
        db.session.commit()


def test_browser_reports_its_zone_and_the_user_keeps_it(app, user_client, user):
    resp = user_client.form_post("/account/time-zone", {"time_zone": "Asia/Tokyo"}, htmx=True)
    assert resp.status_code == 204
    with app.app_context():
        assert db.session.get(User, user.id).time_zone == "Asia/Tokyo"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "x" * 80])
def test_unknown_zone_is_refused_and_changes_nothing(app, user_client, user, zone):
    resp = user_client.form_post("/account/time-zone", {"time_zone": zone}, htmx=True)
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.get(User, user.id).time_zone is None


def test_login_form_carries_the_browsers_zone(app, client, user):
    token = client.csrf_token("/auth/login")
    resp = client.post("/auth/login", data={"username": user.username, "password": user.password,
                                            "time_zone": "America/Sao_Paulo",
                                            "csrf_token": token})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.get(User, user.id).time_zone == "America/Sao_Paulo"


def test_server_rendered_times_use_the_viewers_zone_and_the_api_stays_utc(
        app, user_client, user, make_task, make_token):
    task_id = make_task(user, "Zoned")
    with app.app_context():
        db.session.execute(sa.update(Task).values(created_at=datetime(2026, 1, 15, 23, 30)))
        db.session.commit()
    set_zone(app, user, "Asia/Tokyo")  # UTC+9: the next day, 08:30
    html = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<time datetime="2026-01-15T23:30:00Z"' in html
    assert '2026-01-16 08:30 <span class="zone">JST</span>' in html
    api = user_client.get(f"/api/tasks/{task_id}", headers=bearer(make_token(user))).json
    assert api["createdAt"].startswith("2026-01-15T23:30")


def test_today_is_the_viewers_today(app, user_client, user, make_task):
    """UTC+14 and UTC-12 are always on different dates: the same due date is "today" for
    one and not for the other, and the due filter follows."""
    with app.app_context():
        ahead = today_for(type("U", (), {"time_zone": "Pacific/Kiritimati"})())
    task_id = make_task(user, "Dated", due_date=ahead)
    set_zone(app, user, "Pacific/Kiritimati")
    html = user_client.get("/tasks").get_data(as_text=True)
    assert f'datetime="{ahead.isoformat()}"' in html and ">today</time>" in html
    assert "due-today" in html
    assert f'id="task-{task_id}"' in user_client.get("/tasks?due=today").get_data(as_text=True)
    set_zone(app, user, "Etc/GMT+12")
    html = user_client.get("/tasks").get_data(as_text=True)
    assert ">today</time>" not in html and "due-today" not in html
    assert f'id="task-{task_id}"' not in user_client.get("/tasks?due=today").get_data(
        as_text=True)


def test_overdue_due_date_is_marked(user_client, user, make_task):
    make_task(user, "Late", due_date=date.today() - timedelta(days=3))
    html = user_client.get("/tasks").get_data(as_text=True)
    assert "due-overdue" in html and "Overdue: </span>" in html


def test_first_visit_to_the_root_shows_the_login_without_a_warning(client):
    resp = client.get("/", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<h1>Log in</h1>" in html
    assert "Please log in" not in html
    # A protected page asked for by address still explains the detour.
    html = client.get("/tasks", follow_redirects=True).get_data(as_text=True)
    assert "Please log in to see that page." in html


def test_pages_carry_the_favicon(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in html
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
