"""Account administration: admins only, roles, deactivation, the last active admin."""

from __future__ import annotations

import pytest

from tests.conftest import HTMX, login
from webapp.extensions import db
from webapp.models import User
from webapp.services import users as user_service
from webapp.services.errors import Forbidden, Invalid


def fetch(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/admin/users"),
    ("post", "/admin/users/1/role"),
    ("post", "/admin/users/1/active"),
])
def test_user_is_refused_admin_pages_with_403(user_client, admin, method, path):
    if method == "get":
        resp = user_client.get(path)
    else:
        resp = user_client.form_post(path, {"role": "admin", "active": "0"})
    assert resp.status_code == 403
    assert fetch(user_client.application, admin.id).is_active


def test_user_cannot_make_themself_admin(user_client, user):
    resp = user_client.form_post(f"/admin/users/{user.id}/role", {"role": "admin"})
    assert resp.status_code == 403
    assert fetch(user_client.application, user.id).role == "user"


def test_anonymous_admin_page_goes_to_login(client):
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_foreign_task_stays_404_for_a_user(user_client, other_user, make_task):
    task_id = make_task(other_user, "Oscar's")
    assert user_client.get(f"/tasks/{task_id}").status_code == 404


def test_admin_sees_every_account_with_counts_and_last_login(admin_client, admin, user,
                                                              other_user, make_task):
    make_task(user, "one")
    make_task(user, "two", status="completed")
    resp = admin_client.get("/admin/users")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for name in ("Alice Example", "Oscar Other", "Ada Admin"):
        assert name in html
    alice_row = html.split(f'id="user-{user.id}"')[1].split("</tr>")[0]
    assert "<td>1</td><td>0</td><td>1</td>" in alice_row
    assert "never" in alice_row
    admin_row = html.split(f'id="user-{admin.id}"')[1].split("</tr>")[0]
    assert '<span class="zone">UTC</span></time>' in admin_row  # the admin logged in


def test_admin_promotes_a_user(admin_client, user):
    resp = admin_client.form_post(f"/admin/users/{user.id}/role", {"role": "admin"})
    assert resp.status_code == 303
    assert fetch(admin_client.application, user.id).role == "admin"


def test_admin_changes_a_role_through_htmx_and_gets_the_row(admin_client, user):
    resp = admin_client.form_post(f"/admin/users/{user.id}/role", {"role": "admin"}, htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert html.lstrip().startswith(f'<tr id="user-{user.id}"')
    assert "Alice Example is now admin." in html and 'hx-swap-oob="true"' in html


def test_bad_role_is_refused_and_changes_nothing(admin_client, user):
    resp = admin_client.form_post(f"/admin/users/{user.id}/role", {"role": "superuser"})
    assert resp.status_code == 422
    assert "Choose a valid role." in resp.get_data(as_text=True)
    assert fetch(admin_client.application, user.id).role == "user"


def test_role_change_of_an_unknown_account_is_404(admin_client):
    assert admin_client.form_post("/admin/users/9999/role", {"role": "admin"}).status_code == 404


def test_last_active_admin_cannot_be_demoted(admin_client, admin):
    resp = admin_client.form_post(f"/admin/users/{admin.id}/role", {"role": "user"})
    assert resp.status_code == 422
    assert "The last active admin cannot be demoted." in resp.get_data(as_text=True)
    assert fetch(admin_client.application, admin.id).role == "admin"


def test_last_active_admin_refusal_through_htmx_returns_the_row(admin_client, admin):
    resp = admin_client.form_post(f"/admin/users/{admin.id}/role", {"role": "user"}, htmx=True)
    assert resp.status_code == 422
    assert "The last active admin cannot be demoted." in resp.get_data(as_text=True)


def test_admin_can_be_demoted_while_another_active_admin_remains(admin_client, make_user):
    second = make_user("second", role="admin")
    resp = admin_client.form_post(f"/admin/users/{second.id}/role", {"role": "user"})
    assert resp.status_code == 303
    assert fetch(admin_client.application, second.id).role == "user"


def test_inactive_admin_does_not_count_as_another_admin(admin_client, admin, make_user):
    make_user("sleeping", role="admin", active=False)
    resp = admin_client.form_post(f"/admin/users/{admin.id}/role", {"role": "user"})
    assert resp.status_code == 422


def test_admin_cannot_deactivate_themself(admin_client, admin, make_user):
    make_user("second", role="admin")
    resp = admin_client.form_post(f"/admin/users/{admin.id}/active", {"active": "0"})
    assert resp.status_code == 422
    assert fetch(admin_client.application, admin.id).is_active


def test_last_active_admin_cannot_be_deactivated(ctx, admin, user):
    root = db.session.get(User, admin.id)
    other = user_service.create_user("backup", "backup@example.com", "long-password-1",
                                     role="admin")
    user_service.set_active(root, other.id, False)
    # backup, now inactive, cannot deactivate anyone; root is the last active admin.
    with pytest.raises(Invalid):
        user_service.set_active(root, root.id, False)
    assert db.session.get(User, admin.id).is_active


def test_service_refuses_account_changes_to_users(ctx, user, admin):
    alice = db.session.get(User, user.id)
    with pytest.raises(Forbidden):
        user_service.set_role(alice, admin.id, "user")
    with pytest.raises(Forbidden):
        user_service.set_active(alice, admin.id, False)


def test_deactivated_users_open_session_stops_working(app, admin_client, user):
    alice = app.test_client()
    assert login(alice, user).status_code == 303
    assert alice.get("/tasks").status_code == 200
    resp = admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "0"})
    assert resp.status_code == 303
    resp = alice.get("/tasks")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert alice.get("/tasks", headers=HTMX).status_code == 401


def test_deactivated_user_cannot_log_in_and_reactivated_can(app, admin_client, user):
    admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "0"})
    assert login(app.test_client(), user).status_code != 303
    resp = admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "1"})
    assert resp.status_code == 303
    assert fetch(app, user.id).is_active
    assert login(app.test_client(), user).status_code == 303


def test_reactivation_does_not_revive_the_old_session(app, admin_client, user):
    alice = app.test_client()
    login(alice, user)
    admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "0"})
    admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "1"})
    assert alice.get("/tasks").status_code == 302


def test_bad_active_value_is_refused(admin_client, user):
    resp = admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "maybe"})
    assert resp.status_code == 422
    assert fetch(admin_client.application, user.id).is_active


def test_demoted_admin_loses_admin_pages_at_once(app, admin_client, make_user):
    second = make_user("second", role="admin")
    other = app.test_client()
    login(other, second)
    assert other.get("/admin/users").status_code == 200
    admin_client.form_post(f"/admin/users/{second.id}/role", {"role": "user"})
    assert other.get("/admin/users").status_code == 403
