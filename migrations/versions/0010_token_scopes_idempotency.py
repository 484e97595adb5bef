"""API token scopes; Idempotency-Key records of API POSTs

Revision ID: 0010_token_scopes_idempotency
Revises: 0009_labels_soft_delete_timezone
Create Date: 2026-12-01 16:45:00

- `api_tokens.scope`: "read" or "read write". Every existing token becomes "read" (the
  server default fills the rows), so no token gains the right to write by this upgrade.
- `idempotent_requests`: one row per (user, Idempotency-Key) of `POST /api/tasks`, unique, so
  the database decides which of two concurrent requests with one key creates the task; it
  keeps the first answer (status, body, task id) to replay for 24 hours.

Columns are added with ALTER TABLE (no batch copy: rebuilding a table on SQLite would drop
the search triggers of migration 0007) and dropped with ALTER TABLE ... DROP COLUMN.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_token_scopes_idempotency'
down_revision = '0009_labels_soft_delete_timezone'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('api_tokens', sa.Column('scope', sa.String(length=32), nullable=False,
                                          server_default='read'))
    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('body', sa.JSON(), nullable=True),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_idempotent_requests_user_id_key', 'idempotent_requests',
                    ['user_id', 'key'], unique=True)
    op.create_index('ix_idempotent_requests_created_at', 'idempotent_requests',
                    ['created_at'])


def downgrade():
    op.drop_index('ix_idempotent_requests_created_at', table_name='idempotent_requests')
    op.drop_index('ix_idempotent_requests_user_id_key', table_name='idempotent_requests')
    op.drop_table('idempotent_requests')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE api_tokens DROP COLUMN scope')
    else:
        op.drop_column('api_tokens', 'scope')
