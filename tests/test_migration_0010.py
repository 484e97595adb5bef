"""Migration 0010: token scopes (existing tokens become read-only) and the Idempotency-Key
table, on SQLite and PostgreSQL alike; down and up again."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from webapp.extensions import db
from webapp.models import ApiToken


@pytest.fixture
def at_0009(ctx):
    downgrade(revision="0009_labels_soft_delete_timezone")
    try:
        yield
    finally:
        db.session.rollback()
        upgrade()


def test_tokens_made_before_scopes_become_read_only(user, at_0009):
    db.session.execute(sa.text(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
        "VALUES (:user_id, 'old script', 'hash-of-old', 'td_old0000', :now)"),
        {"user_id": user.id, "now": datetime(2026, 1, 1)})
    db.session.commit()
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("api_tokens")}
    assert "scope" not in columns
    assert not sa.inspect(db.engine).has_table("idempotent_requests")
    upgrade()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.prefix == "td_old0000"))
    assert token.scope == "read" and not token.allows("write")
    assert sa.inspect(db.engine).has_table("idempotent_requests")


def test_one_row_per_user_and_key(user, other_user, ctx):
    insert = sa.text("INSERT INTO idempotent_requests (user_id, key, fingerprint, created_at) "
                     "VALUES (:user_id, 'k1', 'f', :now)")
    now = datetime(2026, 1, 1)
    db.session.execute(insert, {"user_id": user.id, "now": now})
    db.session.execute(insert, {"user_id": other_user.id, "now": now})  # another user: free
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(insert, {"user_id": user.id, "now": now})
        db.session.commit()
    db.session.rollback()
