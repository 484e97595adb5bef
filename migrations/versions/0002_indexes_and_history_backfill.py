"""indexes for the task filters and the dashboard; status history for tasks without one

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:35:00

Tasks created before the status history existed (or inserted by hand) get one: a "created"
change at `created_at` and, for a task completed later than it was created, a change from
pending to completed at `completed_at`. Who made them is unknown, so `changed_by_id` is NULL.
The downgrade drops the indexes and keeps the history rows: they are data, not schema, and
cannot be told apart from recorded ones.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TASK_INDEXES = [
    # A user's list sorted by creation, and the dashboard's period on one owner's tasks.
    ('ix_tasks_owner_id_created_at', ['owner_id', 'created_at']),
    # Status filter and counts per status of one owner.
    ('ix_tasks_owner_id_status', ['owner_id', 'status']),
    # Due filters (overdue, today, this week, none) and the overdue count of one owner.
    ('ix_tasks_owner_id_due_date', ['owner_id', 'due_date']),
    # The same for admins, who see every owner's tasks.
    ('ix_tasks_created_at', ['created_at']),
    ('ix_tasks_due_date', ['due_date']),
]
STATUS_CHANGE_INDEXES = [
    # Completions per day and the average time to complete, over a period.
    ('ix_status_changes_new_status_changed_at', ['new_status', 'changed_at']),
]

# One statement, so the NOT EXISTS sees the history as it was before the backfill (PostgreSQL
# reads one snapshot; SQLite copies the SELECT's rows first when it reads the target table).
BACKFILL = sa.text("""
INSERT INTO status_changes (task_id, old_status, new_status, changed_by_id, changed_at)
SELECT t.id, CAST(NULL AS VARCHAR(16)),
       CASE WHEN t.status = 'completed' AND t.completed_at > t.created_at
            THEN 'pending' ELSE t.status END,
       CAST(NULL AS INTEGER), t.created_at
FROM tasks t
WHERE NOT EXISTS (SELECT 1 FROM status_changes s WHERE s.task_id = t.id)
UNION ALL
SELECT t.id, 'pending', 'completed', CAST(NULL AS INTEGER), t.completed_at
FROM tasks t
WHERE t.status = 'completed' AND t.completed_at > t.created_at
  AND NOT EXISTS (SELECT 1 FROM status_changes s WHERE s.task_id = t.id)
""")


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        for name, columns in TASK_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        for name, columns in STATUS_CHANGE_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        for name, _ in STATUS_CHANGE_INDEXES:
            batch_op.drop_index(name)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        for name, _ in TASK_INDEXES:
            batch_op.drop_index(name)
