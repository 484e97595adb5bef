"""indexed text search: folded title and description, pg_trgm on PostgreSQL, FTS5 on SQLite

Revision ID: 0007_search_indexes
Revises: 0003
Create Date: 2026-11-22 09:00:00

`tasks.search_title` and `tasks.search_description` hold the title and description folded
for search (Unicode case folding, then NFC: `webapp.models.fold_for_search`), filled here for
existing tasks. The search is a substring match on them (webapp/services/search.py):
- PostgreSQL: the pg_trgm extension and a GIN trigram index per column, which serve
  `LIKE '%...%'`;
- SQLite: an FTS5 table with the trigram tokenizer over both columns, as an external-content
  table of `tasks` (it stores only its index), kept in step by three triggers.

SQLite drops a table's triggers with the table: a later migration that rebuilds `tasks`
(Alembic's batch mode does, for most changes other than adding a column) must create the
triggers again (SQLITE_TRIGGERS below); tests/test_migrations.py checks they exist at head.
"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_search_indexes'
down_revision = '0003'
branch_labels = None
depends_on = None

COLUMNS = ('search_title', 'search_description')
TRIGRAM_INDEXES = {f'ix_tasks_{column}_trgm': column for column in COLUMNS}
BACKFILL_BATCH = 5000

SQLITE_FTS_TABLE = """
CREATE VIRTUAL TABLE tasks_search USING fts5(
    search_title, search_description,
    content='tasks', content_rowid='id',
    tokenize='trigram case_sensitive 1'
)
"""
# The text is folded before it is stored, so the tokenizer must not fold it again
# (case_sensitive 1): the index then holds exactly the characters the search compares.
SQLITE_TRIGGERS = {
    'tasks_search_after_insert': """
CREATE TRIGGER tasks_search_after_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_search (rowid, search_title, search_description)
    VALUES (new.id, new.search_title, new.search_description);
END""",
    'tasks_search_after_delete': """
CREATE TRIGGER tasks_search_after_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_search (tasks_search, rowid, search_title, search_description)
    VALUES ('delete', old.id, old.search_title, old.search_description);
END""",
    'tasks_search_after_update': """
CREATE TRIGGER tasks_search_after_update AFTER UPDATE OF search_title, search_description
ON tasks BEGIN
    INSERT INTO tasks_search (tasks_search, rowid, search_title, search_description)
    VALUES ('delete', old.id, old.search_title, old.search_description);
    INSERT INTO tasks_search (rowid, search_title, search_description)
    VALUES (new.id, new.search_title, new.search_description);
END""",
}


def fold(text):
    """webapp.models.fold_for_search as it was when this migration was written (a migration
    keeps its own copy, so a later change to the app cannot change what it did)."""
    return unicodedata.normalize('NFC', text.casefold()) if text is not None else None


def backfill(conn) -> None:
    """Fold every existing task's title and description, in batches by id."""
    select = sa.text('SELECT id, title, description FROM tasks WHERE id > :after '
                     'ORDER BY id LIMIT :batch')
    update = sa.text('UPDATE tasks SET search_title = :title, search_description = :description '
                     'WHERE id = :id')
    after = 0
    while rows := conn.execute(select, {'after': after, 'batch': BACKFILL_BATCH}).all():
        conn.execute(update, [{'id': row.id, 'title': fold(row.title),
                               'description': fold(row.description)} for row in rows])
        after = rows[-1].id


def require_fts5_trigram(conn) -> None:
    try:
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE temp.fts5_trigram_check USING fts5(x, tokenize='trigram')")
        conn.exec_driver_sql('DROP TABLE temp.fts5_trigram_check')
    except sa.exc.OperationalError as error:
        raise RuntimeError(
            'The text search needs SQLite 3.34 or newer with FTS5 (the trigram tokenizer); '
            f'this Python uses SQLite {conn.dialect.dbapi.sqlite_version}.') from error


def upgrade():
    with op.batch_alter_table('tasks') as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.Text(), nullable=True))
    conn = op.get_bind()
    backfill(conn)
    if conn.dialect.name == 'postgresql':
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, column in TRIGRAM_INDEXES.items():
            op.create_index(name, 'tasks', [column], postgresql_using='gin',
                            postgresql_ops={column: 'gin_trgm_ops'})
    elif conn.dialect.name == 'sqlite':
        require_fts5_trigram(conn)
        op.execute(SQLITE_FTS_TABLE)
        for trigger in SQLITE_TRIGGERS.values():
            op.execute(trigger)
        op.execute("INSERT INTO tasks_search (tasks_search) VALUES ('rebuild')")


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        for name in TRIGRAM_INDEXES:
            op.drop_index(name, table_name='tasks')
        # The pg_trgm extension stays: other objects may use it by now.
    elif conn.dialect.name == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS tasks_search')
    with op.batch_alter_table('tasks') as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
