"""The Alembic migrations build the whole schema on an empty database."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db
from webapp.services.search import include_in_schema_comparison


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": include_in_schema_comparison(conn.dialect.name),
        })
        assert compare_metadata(context, db.metadata) == []


def test_upgrade_on_empty_sqlite_then_downgrade_to_nothing(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}")
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "tasks", "status_changes", "api_tokens", "audit_events"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        db.engine.dispose()
