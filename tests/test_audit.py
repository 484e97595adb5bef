"""The audit trail: a row (and a JSON log line) per action, and the admin page."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.conftest import HTMX
from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.services import audit


def events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def test_task_create_is_audited_with_actor_target_and_ip(app, user_client, user):
    user_client.form_post("/tasks", {"title": "Audited"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    [row] = events(app, "task.create")
    assert row.actor_id == user.id and row.target_type == "task"
    assert row.source_ip == "10.1.2.3"
    assert row.changes == {"title": "Audited"}


def test_task_update_is_audited_with_changed_fields_old_and_new(app, user_client, user,
                                                                 make_task):
    task_id = make_task(user, "Old title", priority="low")
    user_client.form_post(f"/tasks/{task_id}", {
        "title": "New title", "status": "pending", "priority": "high", "due_date": "2030-01-02",
        "version": "1"})
    [row] = events(app, "task.update")
    assert row.target_id == str(task_id)
    assert row.changes == {"title": ["Old title", "New title"], "priority": ["low", "high"],
                           "due_date": [None, "2030-01-02"]}


def test_task_complete_and_reopen_are_audited(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/complete")
    user_client.form_post(f"/tasks/{task_id}/reopen")
    assert [e.action for e in events(app) if e.action.startswith("task.")][-2:] == [
        "task.complete", "task.reopen"]


def test_task_delete_is_audited(app, user_client, user, make_task):
    task_id = make_task(user, "Doomed")
    user_client.form_post(f"/tasks/{task_id}/delete")
    [row] = events(app, "task.delete")
    assert row.target_id == str(task_id) and row.changes == {"title": "Doomed"}


def test_login_and_logout_are_audited(app, user_client, user):
    user_client.form_post("/auth/logout")
    assert [e.action for e in events(app) if e.action.startswith("auth.")] == [
        "auth.login", "auth.logout"]


def test_failed_login_is_audited_without_actor(app, client, user):
    client.form_post("/auth/login", {"username": user.username, "password": "wrong-password"})
    [row] = events(app, "auth.login_failed")
    assert row.actor_id is None
    assert (row.target_type, row.target_id) == ("user", str(user.id))
    assert row.changes == {"username": user.username}


def test_password_change_is_audited(app, user_client, user):
    user_client.form_post("/auth/password", {
        "current_password": user.password, "new_password": "another-secret-42",
        "confirm": "another-secret-42"})
    assert len(events(app, "auth.password_change")) == 1


def test_registration_is_audited(app, client):
    client.form_post("/auth/register", {"username": "newcomer", "email": "new@example.com",
                                        "password": "a-long-secret-9",
                                        "confirm": "a-long-secret-9"})
    [row] = events(app, "user.create")
    assert row.changes == {"role": "user"}


def test_refused_stale_edit_writes_no_audit_event(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}", {"title": "One", "status": "pending",
                                                "priority": "medium", "version": "1"})
    user_client.form_post(f"/tasks/{task_id}", {"title": "Two", "status": "pending",
                                                "priority": "medium", "version": "1"})
    assert len(events(app, "task.update")) == 1


def test_audit_event_is_also_a_json_log_line(user_client, caplog):
    with caplog.at_level(logging.INFO, logger="webapp.audit"):
        user_client.form_post("/tasks", {"title": "Logged"})
    [record] = [r for r in caplog.records if r.name == "webapp.audit"]
    assert record.action == "task.create" and record.request_id


def test_record_refuses_an_unknown_action(ctx):
    with pytest.raises(ValueError):
        audit.record(None, "task.explode")


# --- The page -----------------------------------------------------------------------------

def add_events(app, actor_id: int | None, action: str, count: int, when: datetime | None = None):
    with app.app_context():
        for _ in range(count):
            db.session.add(AuditEvent(actor_id=actor_id, action=action, target_type="task",
                                      target_id="1", created_at=when or datetime(2026, 1, 5)))
        db.session.commit()


def test_admin_pages_through_audit_events(app, admin_client, admin):
    add_events(app, admin.id, "task.create", 60)
    resp = admin_client.get("/admin/audit")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "62 events" in body  # 60, the admin account's creation and its login
    assert "Page 1 of 2" in body and 'rel="next"' in body
    assert "Page 2 of 2" in admin_client.get("/admin/audit?page=2").get_data(as_text=True)


def test_admin_filters_audit_by_user_action_and_date(app, admin_client, admin, user):
    add_events(app, user.id, "task.delete", 2, datetime(2026, 3, 1, 12))
    add_events(app, user.id, "task.delete", 3, datetime(2026, 3, 9, 12))
    add_events(app, admin.id, "task.delete", 4, datetime(2026, 3, 1, 12))
    resp = admin_client.get(
        "/admin/audit?user=alice&action=task.delete&date_from=2026-03-01&date_to=2026-03-01")
    assert "2 events" in resp.get_data(as_text=True)


def test_user_filter_includes_events_about_the_user(app, admin_client, user):
    app.test_client().form_post("/auth/login", {"username": user.username,
                                                "password": "wrong-password"})
    resp = admin_client.get("/admin/audit?user=alice&action=auth.login_failed")
    assert "1 event" in resp.get_data(as_text=True)


def test_admin_audit_filter_with_htmx_answers_the_list_fragment(app, admin_client, admin):
    resp = admin_client.get("/admin/audit?action=auth.login", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in body and 'id="audit-list"' in body and "1 event" in body
    assert "HX-Request" in resp.headers["Vary"]


def test_admin_audit_bad_filters_are_reported_not_fatal(admin_client):
    resp = admin_client.get("/admin/audit?action=nope&date_from=yesterday&page=0&user=" + "x" * 40)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "Unknown action" in body and "YYYY-MM-DD" in body and "Page must be" in body


def test_user_cannot_see_the_audit_log(user_client):
    assert user_client.get("/admin/audit").status_code == 403


def test_anonymous_is_sent_to_login_from_the_audit_log(client):
    resp = client.get("/admin/audit")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_audit_page_escapes_stored_text(app, admin_client, admin):
    with app.app_context():
        db.session.add(AuditEvent(actor_id=admin.id, action="task.create", target_type="task",
                                  target_id="9", changes={"title": "<script>alert(1)</script>"}))
        db.session.commit()
    body = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body


def test_audit_page_costs_two_queries_whatever_its_size(app, admin):
    add_events(app, admin.id, "task.create", 30)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        actor = db.session.get(User, admin.id)
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = audit.audit_events(actor, audit.AuditFilters())
            names = {event.actor.username for event in page.items}
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert names == {"root"}
    assert len(statements) == 2  # the count and the page, actors joined in


def test_role_change_is_audited_with_old_and_new_role(app, admin_client, admin, user):
    admin_client.form_post(f"/admin/users/{user.id}/role", {"role": "admin"})
    [row] = events(app, "user.role_change")
    assert row.actor_id == admin.id and row.target_id == str(user.id)
    assert row.changes == {"role": ["user", "admin"]}


def test_deactivation_and_reactivation_are_audited(app, admin_client, admin, user):
    admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "0"})
    admin_client.form_post(f"/admin/users/{user.id}/active", {"active": "1"})
    assert [r.target_id for r in events(app, "user.deactivate")] == [str(user.id)]
    assert [r.target_id for r in events(app, "user.activate")] == [str(user.id)]


def test_refused_role_change_writes_no_audit_event(app, admin_client, admin):
    admin_client.form_post(f"/admin/users/{admin.id}/role", {"role": "user"})
    assert events(app, "user.role_change") == []


def test_token_creation_and_revocation_are_audited_without_the_secret(app, user_client, user):
    resp = user_client.form_post("/account/tokens", {"name": "backup script"})
    assert resp.status_code == 201
    [created] = events(app, "token.create")
    assert created.actor_id == user.id and created.changes == {"name": "backup script",
                                                                  "scope": "read"}
    user_client.form_post(f"/account/tokens/{created.target_id}/revoke")
    [revoked] = events(app, "token.revoke")
    assert revoked.target_id == created.target_id
    with app.app_context():
        token_hash = db.session.scalar(sa.text("SELECT token_hash FROM api_tokens"))
    assert token_hash not in str(created.changes)
