"""The password rules, applied in one place for registration, the CLI and password change."""

from __future__ import annotations

import pytest

from webapp.services.users import common_passwords, password_problems


@pytest.mark.parametrize("password, username, problem", [
    ("short7!", "alice", "at least 8"),
    ("Alice-Wonder", "alice-wonder", "not be your username"),
    ("password123", "alice", "too common"),
    ("QWERTY123", "alice", "too common"),
    ("12345678", "alice", "too common"),
    ("x" * 201, "alice", "at most 200"),
])
def test_weak_password_is_refused(password, username, problem):
    [message] = password_problems(password, username)
    assert problem in message


def test_good_password_is_accepted():
    assert password_problems("correct-horse-battery", "alice") == []


def test_common_password_list_is_shipped_and_small():
    words = common_passwords()
    assert 200 <= len(words) <= 5000
    assert "letmein" in words


@pytest.mark.parametrize("username, password, problem", [
    ("carol", "iloveyou123", "too common"),
    ("carolyn99", "Carolyn99", "not be your username"),
])
def test_registration_with_a_weak_password_is_refused(app, client, username, password, problem):
    resp = client.form_post("/auth/register", {
        "username": username, "email": f"{username}@example.com",
        "password": password, "confirm": password})
    assert resp.status_code == 422
    assert problem in resp.get_data(as_text=True)


def test_cli_refuses_a_common_password(app):
    with app.app_context():  # `flask` pushes one; the plain click groups do not
        result = app.test_cli_runner().invoke(args=[
            "users", "create", "dave", "--email", "dave@example.com", "--password", "sunshine1"])
    assert result.exit_code != 0
    assert "too common" in result.output
