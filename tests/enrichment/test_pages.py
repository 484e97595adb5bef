"""Enrichment in the task pages: form fields, placeholders, fragments, Refresh, access."""

from __future__ import annotations

import threading
import time

import pytest

from webapp.extensions import db
from webapp.models import Task
from webapp.services import enrichment
from webapp.services.enrichment.github import normalise_repo

from .conftest import GITHUB, SLOW

FLASK = f"{GITHUB}/repos/pallets/flask"


def stored(app, task_id: int) -> Task:
    with app.app_context():
        task = db.session.get(Task, task_id)
        db.session.expunge(task)
        return task


def created_task(app, title: str) -> Task:
    with app.app_context():
        task = db.session.scalar(db.select(Task).where(Task.title == title))
        db.session.expunge(task)
        return task


@pytest.mark.parametrize("value", [
    "pallets/flask", " pallets/flask ", "https://github.com/pallets/flask",
    "https://github.com/pallets/flask/", "https://www.github.com/pallets/flask.git",
])
def test_repository_forms_are_normalised_to_owner_slash_name(value):
    assert normalise_repo(value) == "pallets/flask"


@pytest.mark.parametrize("value", [
    "flask", "pallets/flask/issues", "http://github.com/pallets/flask",
    "https://gitlab.com/pallets/flask", "-pallets/flask", "pallets/..", "pal lets/flask",
    "https://github.com/pallets",
])
def test_repository_that_is_not_owner_slash_name_is_refused(value):
    with pytest.raises(ValueError):
        normalise_repo(value)


def test_user_sees_city_and_repository_fields_on_new_task_form(user_client):
    resp = user_client.get("/tasks/new")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '>City</label>' in html and '>GitHub repository</label>' in html


def test_user_creates_task_with_repository_url_stored_normalised(app, user_client):
    resp = user_client.form_post("/tasks", {
        "title": "Ship it", "status": "pending", "priority": "medium",
        "city": " Paris ", "repo": "https://github.com/pallets/flask",
    })
    assert resp.status_code == 303
    task = created_task(app, "Ship it")
    assert (task.city, task.repo_full_name) == ("Paris", "pallets/flask")


def test_user_with_bad_repository_gets_field_error_and_nothing_saved(app, user_client):
    resp = user_client.form_post("/tasks", {
        "title": "Ship it", "status": "pending", "priority": "medium", "repo": "not a repo",
    })
    assert resp.status_code == 422
    assert "Give the repository as owner/name" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Task.id))) == 0


def test_user_saving_task_does_not_wait_for_slow_services(fake, app, user_client):
    fake.slow(FLASK, {"stargazers_count": 1})
    started = time.monotonic()
    resp = user_client.form_post("/tasks", {
        "title": "Fast save", "status": "pending", "priority": "medium",
        "city": "Paris", "repo": "pallets/flask",
    })
    assert resp.status_code == 303
    assert time.monotonic() - started < SLOW
    assert len(fake.server.log) == 0


def test_user_changing_city_clears_weather_snapshot(app, user_client, make_task, user):
    task_id = make_task(user, "Trip", city="Paris", repo="pallets/flask")
    with app.app_context():
        enrichment.store_snapshot(task_id, "weather", "Paris",
                                  {"weather": {"temperature": 1}, "weather_status": "ok"})
        enrichment.store_snapshot(task_id, "repo", "pallets/flask",
                                  {"repo_stars": 9, "repo_status": "ok"})
    resp = user_client.form_post(f"/tasks/{task_id}", {
        "title": "Trip", "status": "pending", "priority": "medium",
        "city": "Oslo", "repo": "pallets/flask", "version": "1",
    })
    assert resp.status_code == 303
    task = stored(app, task_id)
    assert (task.city, task.weather, task.weather_status) == ("Oslo", None, None)
    assert (task.repo_stars, task.repo_status) == (9, "ok")


def test_user_changing_repository_clears_repo_snapshot(app, user_client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    with app.app_context():
        enrichment.store_snapshot(task_id, "repo", "pallets/flask",
                                  {"repo_stars": 9, "repo_status": "ok"})
    resp = user_client.form_post(f"/tasks/{task_id}", {
        "title": "Review", "status": "pending", "priority": "medium",
        "repo": "psf/requests", "version": "1",
    })
    assert resp.status_code == 303
    task = stored(app, task_id)
    assert (task.repo_full_name, task.repo_stars, task.repo_status) == (
        "psf/requests", None, None)


def test_user_edit_loaded_before_enrichment_saves_without_conflict(fake, app, user_client,
                                                                   make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo()
    form_version = str(stored(app, task_id).version)
    assert user_client.hx_get(f"/tasks/{task_id}/repo").status_code == 200
    resp = user_client.form_post(f"/tasks/{task_id}", {
        "title": "Review carefully", "status": "pending", "priority": "medium",
        "repo": "pallets/flask", "version": form_version,
    })
    assert resp.status_code == 303
    task = stored(app, task_id)
    assert (task.title, task.repo_stars) == ("Review carefully", 1234)


def test_detail_page_has_loading_placeholders_when_nothing_stored(fake, user_client,
                                                                  make_task, user):
    task_id = make_task(user, "Trip", city="Paris", repo="pallets/flask")
    resp = user_client.get(f"/tasks/{task_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f'hx-get="/tasks/{task_id}/repo" hx-trigger="load"' in html
    assert f'hx-get="/tasks/{task_id}/weather" hx-trigger="load"' in html
    assert len(fake.server.log) == 0  # the page itself never calls out


def test_list_row_has_compact_loading_placeholder(fake, user_client, make_task, user):
    task_id = make_task(user, "Trip", repo="pallets/flask")
    resp = user_client.get("/tasks")
    assert resp.status_code == 200
    assert f'hx-get="/tasks/{task_id}/repo?compact=1" hx-trigger="load"' in resp.get_data(
        as_text=True)


def test_repo_fragment_fetches_and_shows_stars(fake, user_client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo()
    resp = user_client.hx_get(f"/tasks/{task_id}/repo")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "★ 1,234 stars" in html and "hx-trigger" not in html
    assert "<html" not in html


def test_detail_page_shows_stored_weather_without_placeholder(fake, user_client, make_task,
                                                              user):
    task_id = make_task(user, "Trip", city="Paris")
    fake.weather()
    user_client.hx_get(f"/tasks/{task_id}/weather")
    resp = user_client.get(f"/tasks/{task_id}")
    html = resp.get_data(as_text=True)
    assert "Weather in Paris, France:" in html and "18.5 °C, Partly cloudy" in html
    assert 'hx-trigger="load"' not in html


def test_failing_service_shows_unavailable_with_retry_not_500(fake, user_client, make_task,
                                                              user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo(body={"message": "boom"}, status=500)
    resp = user_client.hx_get(f"/tasks/{task_id}/repo")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "unavailable: GitHub answered 500" in html
    assert f'hx-post="/tasks/{task_id}/repo/refresh"' in html and ">Retry</button>" in html


def test_retry_fetches_again_and_shows_stars(fake, user_client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo(body={"message": "boom"}, status=500, oneshot=True)
    fake.repo()
    user_client.hx_get(f"/tasks/{task_id}/repo")
    resp = user_client.form_post(f"/tasks/{task_id}/repo/refresh", htmx=True)
    assert resp.status_code == 200
    assert "★ 1,234 stars" in resp.get_data(as_text=True)


def test_refresh_without_javascript_redirects_to_detail(fake, user_client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo()
    resp = user_client.form_post(f"/tasks/{task_id}/repo/refresh")
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/tasks/{task_id}"


def test_user_refreshing_too_often_waits_without_calling_out(fake, app, monkeypatch,
                                                             user_client, make_task, user):
    monkeypatch.setitem(app.config, "ENRICHMENT_USER_LIMIT", "2/minute")
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo()
    for _ in range(2):
        assert user_client.form_post(f"/tasks/{task_id}/repo/refresh", htmx=True).status_code == 200
    resp = user_client.form_post(f"/tasks/{task_id}/repo/refresh", htmx=True)
    assert resp.status_code == 200
    assert "Too many lookups just now: try again in" in resp.get_data(as_text=True)
    assert "★ 1,234 stars" in resp.get_data(as_text=True)  # the stored snapshot stays
    assert fake.hits(FLASK) == 2


def test_page_loads_and_refreshes_share_one_budget_per_user(fake, app, monkeypatch,
                                                             user_client, make_task, user):
    """A list of many tasks naming many repositories: the placeholders load at once, but
    only the user's budget of lookups goes out; the rest say they will ask again later and
    store nothing (still due)."""
    monkeypatch.setitem(app.config, "ENRICHMENT_USER_LIMIT", "5/minute")
    names = [f"owner{n}/repo{n}" for n in range(12)]
    for name in names:
        fake.repo(name)
    task_ids = [make_task(user, f"T{n}", repo=name) for n, name in enumerate(names)]
    barrier = threading.Barrier(len(task_ids))
    statuses, bodies = [], []

    def load(task_id: int) -> None:
        client = app.test_client()
        with client.session_transaction() as session, user_client.session_transaction() as own:
            session.update(own)
        barrier.wait()
        resp = client.get(f"/tasks/{task_id}/repo", headers={"HX-Request": "true"})
        statuses.append(resp.status_code)
        bodies.append(resp.get_data(as_text=True))

    threads = [threading.Thread(target=load, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert statuses == [200] * 12
    assert len(fake.server.log) == 5
    waiting = [body for body in bodies if "asking again in" in body]
    assert len(waiting) == 7 and all('hx-trigger="load delay:' in body for body in waiting)
    assert sum(stored(app, task_id).repo_status == "ok" for task_id in task_ids) == 5
    refresh = user_client.form_post(f"/tasks/{task_ids[0]}/repo/refresh", htmx=True)
    assert "too many lookups just now" in refresh.get_data(as_text=True).lower()
    assert len(fake.server.log) == 5


def test_one_users_lookups_do_not_spend_anothers(fake, app, monkeypatch, user_client,
                                                 make_task, user, make_user):
    from tests.conftest import Client, login

    monkeypatch.setitem(app.config, "ENRICHMENT_USER_LIMIT", "1/minute")
    fake.repo("a/one")
    fake.repo("b/two")
    mine = make_task(user, "Mine", repo="a/one")
    other = make_user("bea")
    theirs = make_task(other, "Theirs", repo="b/two")
    assert "★" in user_client.hx_get(f"/tasks/{mine}/repo").get_data(as_text=True)
    app.test_client_class = Client
    bea = app.test_client()
    assert login(bea, other).status_code == 303
    assert "★" in bea.hx_get(f"/tasks/{theirs}/repo").get_data(as_text=True)


def test_refresh_without_csrf_token_is_refused(fake, user_client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    resp = user_client.post(f"/tasks/{task_id}/repo/refresh")
    assert resp.status_code == 400
    assert len(fake.server.log) == 0


@pytest.mark.parametrize("method, path", [("get", "repo"), ("post", "repo/refresh"),
                                          ("get", "weather")])
def test_user_cannot_load_enrichment_of_others_task(fake, user_client, make_task, other_user,
                                                    method, path):
    task_id = make_task(other_user, "Secret", city="Paris", repo="pallets/flask")
    fake.repo()
    if method == "get":
        resp = user_client.hx_get(f"/tasks/{task_id}/{path}")
    else:
        resp = user_client.form_post(f"/tasks/{task_id}/{path}", htmx=True)
    assert resp.status_code == 404
    assert len(fake.server.log) == 0


def test_admin_loads_enrichment_of_any_task(fake, admin_client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    fake.repo()
    resp = admin_client.hx_get(f"/tasks/{task_id}/repo")
    assert resp.status_code == 200
    assert "★ 1,234 stars" in resp.get_data(as_text=True)


def test_anonymous_is_sent_to_login_for_enrichment(client, make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    resp = client.get(f"/tasks/{task_id}/repo")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_switched_off_enrichment_shows_no_placeholder_and_calls_nothing(user_client,
                                                                        make_task, user):
    task_id = make_task(user, "Review", repo="pallets/flask")
    resp = user_client.get(f"/tasks/{task_id}")
    html = resp.get_data(as_text=True)
    assert 'hx-trigger="load"' not in html
    assert "not fetched: outside services are switched off" in html
