"""indexes for the task list's default order (open tasks first, newest first)

Revision ID: 0011_open_first_indexes
Revises: 0010_token_scopes_idempotency
Create Date: 2026-12-01 17:00:00

The list page and the board sort open tasks before completed ones, then newest first. No index
had that order, so every page sorted all the matches: an admin's first page read and sorted
every task (1.6 s at 1,100,000 tasks), a user with 100,000 tasks sorted all of theirs. These
partial indexes (live tasks only, as every list reads) hold exactly that order, per owner and
across owners, so a page is an index scan that stops at its LIMIT. Same expression on SQLite
and PostgreSQL; services/task_queries.py writes it with a literal (OPEN_FIRST).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_open_first_indexes'
down_revision = '0010_token_scopes_idempotency'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_tasks_open_first': [],
    'ix_tasks_owner_id_open_first': ['owner_id'],
}


def upgrade():
    for name, owner in INDEXES.items():
        op.create_index(
            name, 'tasks',
            [*owner, sa.text("(status = 'completed')"), sa.text('created_at DESC'),
             sa.text('id DESC')],
            postgresql_where=sa.text('deleted_at IS NULL'),
            sqlite_where=sa.text('deleted_at IS NULL'),
        )


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name='tasks')
