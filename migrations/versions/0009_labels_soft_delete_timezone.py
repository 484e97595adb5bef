"""labels per user on tasks; soft-deleted tasks (Undo); the viewer's time zone

Revision ID: 0009_labels_soft_delete_timezone
Revises: 0008_attachments_comments
Create Date: 2026-11-23 09:00:00

- `labels`: a user's own labels, unique per owner by their case-folded name (`name_key`).
- `task_labels`: which task carries which label; its primary key (task_id, label_id) loads a
  page of tasks' labels, the index (label_id, task_id) serves the list's `label` filter.
- `tasks.deleted_at`: a delete only sets it, so Undo can bring the task back with its history
  and labels; the purge removes rows deleted long enough ago (index on deleted_at).
- `users.time_zone`: the IANA zone the viewer's browser reported, for server-rendered times.

Columns are added with ALTER TABLE and dropped with ALTER TABLE ... DROP COLUMN (SQLite 3.35+)
rather than Alembic's batch copy: rebuilding `tasks` on SQLite would drop the search
triggers of migration 0007.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_labels_soft_delete_timezone'
down_revision = '0008_attachments_comments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'labels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('name_key', sa.String(length=32), nullable=False),
        sa.Column('colour', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_labels_owner_id_name_key', 'labels', ['owner_id', 'name_key'],
                    unique=True)
    op.create_index('ix_labels_name_key', 'labels', ['name_key'])
    op.create_table(
        'task_labels',
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('label_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['label_id'], ['labels.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('task_id', 'label_id'),
    )
    op.create_index('ix_task_labels_label_id_task_id', 'task_labels', ['label_id', 'task_id'])
    op.add_column('tasks', sa.Column('deleted_at', sa.DateTime(), nullable=True))
    op.create_index('ix_tasks_deleted_at', 'tasks', ['deleted_at'])
    op.add_column('users', sa.Column('time_zone', sa.String(length=64), nullable=True))


def drop_column(table, column):
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')  # no table rebuild
    else:
        op.drop_column(table, column)


def downgrade():
    drop_column('users', 'time_zone')
    op.drop_index('ix_tasks_deleted_at', table_name='tasks')
    # Tasks waiting in the bin would come back as live ones: purge them first.
    op.execute(sa.text('DELETE FROM tasks WHERE deleted_at IS NOT NULL'))
    drop_column('tasks', 'deleted_at')
    op.drop_index('ix_task_labels_label_id_task_id', table_name='task_labels')
    op.drop_table('task_labels')
    op.drop_index('ix_labels_name_key', table_name='labels')
    op.drop_index('ix_labels_owner_id_name_key', table_name='labels')
    op.drop_table('labels')
