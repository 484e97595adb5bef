"""A script's walk through the write API with `requests` against a real server (#16):
log in for a token → create with a city (the weather stand-in answers) →
complete → list with filters (Link headers) → delete → log out (the token is dead).
And the outside service failing or slow: the task is still created, its snapshot
`unavailable`, never a 5xx."""

from __future__ import annotations

import time

import requests

from tests.conftest import bearer

from .conftest import GEOCODING, GITHUB, READ_TIMEOUT, SLOW


def test_script_walks_through_login_create_complete_list_delete_logout(live_server, user,
                                                                      fake):
    fake.weather()
    fake.repo()
    api = requests.Session()
    login = api.post(f"{live_server}/api/auth/token", json={
        "username": user.username, "password": user.password, "name": "walk-through"},
        timeout=10)
    assert login.status_code == 201, login.text
    assert login.json()["scope"] == "read write" and login.json()["tokenType"] == "Bearer"
    api.headers.update(bearer(login.json()["token"]))

    created = api.post(f"{live_server}/api/tasks", json={
        "title": "Pack for Paris", "city": "Paris", "repo": "pallets/flask",
        "dueDate": "2026-12-24", "labels": ["travel"], "status": "todo"}, timeout=10)
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["weather"]["status"] == "ok" and task["weather"]["location"] == "Paris, France"
    assert task["weather"]["temperature"] == 18.5  # rounded as the pages show it
    assert task["repo"]["status"] == "ok" and task["repo"]["stars"] == 1234
    location = live_server + created.headers["Location"]

    done = api.post(f"{location}/complete", timeout=10)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert api.get(location, headers={"If-None-Match": done.headers["ETag"]},
                   timeout=10).status_code == 304

    for n in range(3):
        api.post(f"{live_server}/api/tasks", json={"title": f"Other {n}", "labels": ["travel"]},
                 timeout=10)
    page = api.get(f"{live_server}/api/tasks", params={
        "label": "travel", "status": "pending", "perPage": 2, "sort": "title"}, timeout=10)
    assert page.status_code == 200
    assert page.json()["total"] == 3 and page.json()["totalIsEstimate"] is False
    assert [t["title"] for t in page.json()["tasks"]] == ["Other 0", "Other 1"]
    # Every page, by following the Link header as a generic client does.
    titles, url = [], page.links["first"]["url"]
    while url:
        answer = api.get(url, timeout=10)
        titles += [t["title"] for t in answer.json()["tasks"]]
        url = answer.links.get("next", {}).get("url")
    assert titles == ["Other 0", "Other 1", "Other 2"]
    assert page.links["last"]["url"].endswith("page=2")

    completed = api.get(f"{live_server}/api/tasks", params={"status": "completed"}, timeout=10)
    assert [t["id"] for t in completed.json()["tasks"]] == [task["id"]]

    assert api.delete(location, timeout=10).status_code == 204
    assert api.get(location, timeout=10).status_code == 404

    assert api.post(f"{live_server}/api/auth/logout", timeout=10).status_code == 204
    dead = api.get(f"{live_server}/api/tasks", timeout=10)
    assert dead.status_code == 401 and dead.json()["code"] == "unauthorized"


def test_failing_weather_service_still_creates_the_task(live_server, make_token, user, fake):
    fake.raw(f"{GEOCODING}/search", "upstream broke", status=500, content_type="text/plain")
    fake.raw(f"{GITHUB}/repos/pallets/flask", "{}", status=503)
    resp = requests.post(f"{live_server}/api/tasks", headers=bearer(make_token(user, write=True)),
                         json={"title": "Rainy", "city": "Paris", "repo": "pallets/flask"},
                         timeout=10)
    assert resp.status_code == 201, resp.text
    assert resp.json()["weather"]["status"] == "unavailable"
    assert resp.json()["repo"]["status"] == "unavailable"


def test_slow_weather_service_answers_within_the_timeouts(live_server, make_token, user, fake):
    fake.slow(f"{GEOCODING}/search", {"results": []})
    started = time.monotonic()
    resp = requests.post(f"{live_server}/api/tasks", headers=bearer(make_token(user, write=True)),
                         json={"title": "Slow", "city": "Paris"}, timeout=10)
    assert resp.status_code == 201
    assert resp.json()["weather"]["status"] == "unavailable"
    assert time.monotonic() - started < SLOW * 4 + READ_TIMEOUT * 4
