"""tasks.submission_key: a create form sent twice makes one task, across processes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:50:00

The create form carries a random key; the task it created keeps it ("<actor id>:<key>"), and
a unique index makes the database refuse a twin whichever process or instance the second
submission reaches. Existing tasks have none (NULL, which a unique index allows many times).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks') as batch_op:
        batch_op.add_column(sa.Column('submission_key', sa.String(length=80), nullable=True))
    op.create_index('ix_tasks_submission_key', 'tasks', ['submission_key'], unique=True)


def downgrade():
    op.drop_index('ix_tasks_submission_key', table_name='tasks')
    with op.batch_alter_table('tasks') as batch_op:
        batch_op.drop_column('submission_key')
