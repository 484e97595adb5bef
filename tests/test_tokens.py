"""Personal API tokens: the service's life cycle and the `flask tokens create` command."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import ApiToken, User, utcnow
from webapp.services import tokens as token_service
from webapp.services.errors import Invalid, NotFound


def get_user(record) -> User:
    return db.session.get(User, record.id)


def test_token_is_stored_only_as_hash_with_visible_prefix(ctx, user):
    token, secret = token_service.create_token(get_user(user), "backup script")
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token.id))
    assert secret.startswith("td_") and len(secret) > 40
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:10]
    row = db.session.execute(sa.text("SELECT * FROM api_tokens")).mappings().one()
    assert secret not in {str(value) for value in row.values()}


def test_token_authenticates_its_owner_and_records_use(ctx, user):
    _, secret = token_service.create_token(get_user(user), "script")
    token = token_service.authenticate_token(secret)
    assert token is not None and token.user.id == user.id
    assert token.last_used_at is not None


def test_unknown_or_malformed_token_does_not_authenticate(ctx, user):
    _, secret = token_service.create_token(get_user(user), "script")
    assert token_service.authenticate_token(secret + "x") is None
    assert token_service.authenticate_token(secret[3:]) is None
    assert token_service.authenticate_token("") is None


def test_revoked_token_does_not_authenticate(ctx, user):
    token, secret = token_service.create_token(get_user(user), "script")
    token_service.revoke_token(get_user(user), token.id)
    assert token_service.authenticate_token(secret) is None


def test_expired_token_does_not_authenticate(ctx, user):
    token, secret = token_service.create_token(get_user(user), "script", utcnow().date())
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert token_service.authenticate_token(secret) is None


def test_token_works_through_its_expiry_day(ctx, user):
    today = utcnow().date()
    token, secret = token_service.create_token(get_user(user), "script", today)
    assert token.expires_at.date() == today + timedelta(days=1)
    assert token_service.authenticate_token(secret) is not None


def test_token_of_deactivated_user_does_not_authenticate(ctx, user):
    _, secret = token_service.create_token(get_user(user), "script")
    get_user(user).is_active = False
    db.session.commit()
    assert token_service.authenticate_token(secret) is None


@pytest.mark.parametrize(("name", "expires_in_days", "field"), [
    ("   ", None, "name"),
    ("x" * 101, None, "name"),
    ("script", -1, "expires_on"),
    ("script", 6 * 366, "expires_on"),
])
def test_user_cannot_create_token_with_bad_values(ctx, user, name, expires_in_days, field):
    expires_on = utcnow().date() + timedelta(days=expires_in_days) if expires_in_days else None
    with pytest.raises(Invalid) as error:
        token_service.create_token(get_user(user), name, expires_on)
    assert field in error.value.field_errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_user_cannot_revoke_another_users_token(ctx, user, other_user):
    token, secret = token_service.create_token(get_user(other_user), "theirs")
    with pytest.raises(NotFound):
        token_service.revoke_token(get_user(user), token.id)
    assert token_service.authenticate_token(secret) is not None


def test_token_list_shows_only_own_unrevoked_tokens(ctx, user, other_user):
    kept, _ = token_service.create_token(get_user(user), "kept")
    gone, _ = token_service.create_token(get_user(user), "gone")
    token_service.create_token(get_user(other_user), "theirs")
    token_service.revoke_token(get_user(user), gone.id)
    assert [t.name for t in token_service.tokens_of(get_user(user))] == ["kept"]


def test_cli_prints_only_the_new_token(app, user):
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", user.username.upper(), "--name", "nightly export"]
    )
    assert result.exit_code == 0, result.output
    # stdout is what a script captures; log lines go to stderr.
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n" and secret.startswith("td_")
    with app.app_context():
        token = token_service.authenticate_token(secret)
        assert token.name == "nightly export" and token.user_id == user.id


def test_cli_refuses_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "nobody", "--name", "x"])
    assert result.exit_code != 0
    assert "No active account" in result.output


def test_cli_stdout_holds_only_the_token_in_a_real_shell(app, user, database_url):
    """As a script runs it (TOKEN=$(flask ... tokens create ...)): log lines must not mix in."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development", "LOG_FILE": ""}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "tokens", "create", user.username,
         "--name", "shell script"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"td_[\w-]+\n", result.stdout), result.stdout
    assert '"action": "token.create"' in result.stderr


# --- Scopes (#16) ------------------------------------------------------------------------------

def test_token_is_read_only_unless_created_with_write(ctx, user):
    read, _ = token_service.create_token(get_user(user), "reader")
    write, _ = token_service.create_token(get_user(user), "writer",
                                          scope=token_service.SCOPE_READ_WRITE)
    assert read.scope == "read" and read.allows("read") and not read.allows("write")
    assert write.scope == "read write" and write.allows("read") and write.allows("write")


def test_unknown_scope_is_refused(ctx, user):
    with pytest.raises(Invalid) as refused:
        token_service.create_token(get_user(user), "x", scope="admin")
    assert list(refused.value.field_errors) == ["scope"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


@pytest.mark.parametrize(("flags", "scope"), [([], "read"), (["--write"], "read write")])
def test_cli_creates_a_write_token_only_with_write(app, user, flags, scope):
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", user.username, "--name", "deploy", *flags])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert token_service.authenticate_token(result.stdout.strip()).scope == scope
