"""The scale series of `make bench` (issue 15): the same endpoints as the data grows, measured
single-client (p50/p95 of one connection, nothing queued) and saturated (requests per second
at 32 connections), then drawn as a chart (bench/chart.py).

Data is grown in place with `INSERT ... SELECT FROM generate_series` on the PostgreSQL server:
no row travels through Python, so a million tasks load in about a minute where the
row-by-row `flask demo bulk` would take most of the bench's time. Large additions drop the
tasks and status_changes indexes first and build them again afterwards (one sort per index
instead of a million index insertions; the same definitions, read from pg_indexes).

Bench data only: titles and descriptions are ASCII, so the folded search columns are lower();
the app writes them with Python's casefold, which gives the same for ASCII.
"""

from __future__ import annotations

import sqlalchemy as sa

from webapp.cli import DESCRIPTIONS, OBJECTS, VERBS

TASK_TABLES = ("tasks", "status_changes")
# Indexes are dropped and built again when an addition at least doubles the table and is
# large; otherwise inserting into them is cheaper than building them over every row again.
REBUILD_INDEXES_FROM = 50_000

_TASK_ROWS = """
WITH owners AS (
    SELECT id FROM users WHERE id BETWEEN :first_owner AND :last_owner
), drawn AS (
    SELECT o.id AS owner_id, random() AS r_status, random() AS r_age, random() AS r_done,
           random() AS r_due, random() AS r_due_in, random() AS r_title, random() AS r_object,
           random() AS r_description, random() AS r_priority
    FROM owners o CROSS JOIN generate_series(1, :per_owner)
), shaped AS (
    SELECT owner_id,
           CASE WHEN r_status < 0.40 THEN 'pending'
                WHEN r_status < 0.65 THEN 'in-progress' ELSE 'completed' END AS status,
           CAST(:now AS timestamp) - r_age * interval '365 days' AS created,
           r_done, r_due, r_due_in,
           (CAST(:verbs AS text[]))[1 + floor(r_title * :verb_count)::int] || ' ' ||
               (CAST(:objects AS text[]))[1 + floor(r_object * :object_count)::int] AS title,
           NULLIF((CAST(:descriptions AS text[]))[1 + floor(r_description
                  * :description_count)::int], '') AS description,
           (ARRAY['low', 'medium', 'high'])[1 + floor(r_priority * 3)::int] AS priority
    FROM drawn
), timed AS (
    SELECT *, CASE WHEN status = 'completed'
                   THEN created + (CAST(:now AS timestamp) - created) * r_done END AS completed
    FROM shaped
)
INSERT INTO tasks (title, description, status, priority, due_date, owner_id, completed_at,
                   version, created_at, updated_at, search_title, search_description)
SELECT title, description, status, priority,
       CASE WHEN r_due < 0.7 THEN CAST(created AS date) + (floor(r_due_in * 71)::int - 10) END,
       owner_id, completed, CASE WHEN completed IS NULL THEN 1 ELSE 2 END, created,
       COALESCE(completed, created), lower(title), lower(description)
FROM timed
"""

# Each task's history as the app writes it: created (a completed one as pending), then done.
_STATUS_CHANGES = """
INSERT INTO status_changes (task_id, old_status, new_status, changed_by_id, changed_at)
SELECT id, NULL, CASE WHEN status = 'completed' THEN 'pending' ELSE status END, owner_id,
       created_at
FROM tasks WHERE id > :after_id
UNION ALL
SELECT id, 'pending', 'completed', owner_id, completed_at
FROM tasks WHERE id > :after_id AND completed_at IS NOT NULL
"""


def add_users(conn: sa.Connection, usernames: list[str], password_hash: str, now,
              role: str = "user") -> list[int]:
    """Insert active users with these names (one shared password hash); their ids."""
    return list(conn.scalars(sa.text("""
        INSERT INTO users (username, email, display_name, password_hash, role, is_active,
                           session_version, created_at, updated_at)
        SELECT name, name || '@example.com', 'Bench ' || name, :hash, :role, true, 1, :now,
               :now
        FROM unnest(CAST(:names AS text[])) AS name
        RETURNING id
    """), {"names": usernames, "hash": password_hash, "now": now,
                                        "role": role}))


def add_tasks(conn: sa.Connection, first_owner: int, last_owner: int, per_owner: int,
              now, seed: float = 0.15) -> int:
    """Give every user with an id from first_owner to last_owner `per_owner` new tasks (bulk
    demo's mix of statuses, priorities, due dates and texts) with their status history;
    returns the number of tasks added."""
    owners = conn.scalar(sa.text("SELECT count(*) FROM users WHERE id BETWEEN :a AND :b"),
                         {"a": first_owner, "b": last_owner})
    count = owners * per_owner
    if count == 0:
        return 0
    after_id = conn.scalar(sa.text("SELECT coalesce(max(id), 0) FROM tasks"))
    rebuild = count >= max(REBUILD_INDEXES_FROM, after_id)
    dropped = drop_indexes(conn) if rebuild else []
    conn.execute(sa.text("SELECT setseed(:seed)"), {"seed": seed})  # the same data every run
    conn.execute(sa.text(_TASK_ROWS), {
        "first_owner": first_owner, "last_owner": last_owner, "per_owner": per_owner,
        "now": now, "verbs": list(VERBS), "verb_count": len(VERBS), "objects": list(OBJECTS),
        "object_count": len(OBJECTS), "descriptions": list(DESCRIPTIONS),
        "description_count": len(DESCRIPTIONS)})
    conn.execute(sa.text(_STATUS_CHANGES), {"after_id": after_id})
    for statement in dropped:
        conn.execute(sa.text(statement))
    return count


def drop_indexes(conn: sa.Connection) -> list[str]:
    """Drop the secondary indexes of tasks and status_changes (not primary keys or unique
    ones, which guard data); the statements that build them again."""
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    rows = conn.execute(sa.text("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        JOIN pg_class c ON c.relname = i.indexname
        JOIN pg_index x ON x.indexrelid = c.oid
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables)
          AND NOT x.indisprimary AND NOT x.indisunique
    """), {"tables": list(TASK_TABLES)}).all()
    for name, _ in rows:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in rows]


def bulk_names(first: int, count: int) -> list[str]:
    """`flask demo bulk`'s user names (bulk000001, ...): its password works for them."""
    return [f"bulk{n:06d}" for n in range(first, first + count)]
