"""Every task route for anonymous, owner, another user and an admin."""

import pytest

from tests.conftest import login

ROUTES = [
    ("GET", "/tasks/{id}"),
    ("GET", "/tasks/{id}/edit"),
    ("GET", "/tasks/{id}/row"),
    ("GET", "/tasks/{id}/delete"),
    ("POST", "/tasks/{id}"),
    ("POST", "/tasks/{id}/complete"),
    ("POST", "/tasks/{id}/reopen"),
    ("POST", "/tasks/{id}/delete"),
]
# Expected status per visitor: anonymous is sent to log in; a foreign task is not found.
EXPECTED = {
    "anonymous": {"GET": 302, "POST": 302},
    "owner": {"GET": 200, "POST": 303},
    "other": {"GET": 404, "POST": 404},
    "admin": {"GET": 200, "POST": 303},
}


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("visitor", list(EXPECTED))
def test_task_route_access(client, make_user, make_task, visitor, method, path):
    owner = make_user("owner")
    task_id = make_task(owner, "Guarded")
    if visitor == "owner":
        login(client, owner)
    elif visitor == "other":
        login(client, make_user("stranger"))
    elif visitor == "admin":
        login(client, make_user("boss", role="admin"))
    url = path.format(id=task_id)
    if method == "GET":
        resp = client.get(url)
    else:
        resp = client.form_post(url, {"title": "Changed", "version": "1"})
    assert resp.status_code == EXPECTED[visitor][method]


@pytest.mark.parametrize("method,path", [("GET", "/tasks"), ("GET", "/tasks/new"),
                                         ("POST", "/tasks")])
def test_anonymous_is_sent_to_login_from_list_routes(client, method, path):
    resp = client.get(path) if method == "GET" else client.form_post(path, {"title": "x"})
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
