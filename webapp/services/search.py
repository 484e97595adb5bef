"""Text search over tasks: one meaning on SQLite and PostgreSQL, served by an index.

Meaning: a task matches when the query, folded by `fold_for_search` (Unicode case folding
and NFC), is a substring of its folded title or of its folded description. The folded copies
are stored with the task (`search_title`, `search_description`), so the databases compare
characters exactly and never apply their own case rules (PostgreSQL's lower() depends on the
database's locale, SQLite's LIKE folds only ASCII): both give the same rows by construction.

Index: on PostgreSQL a pg_trgm GIN index per column serves `LIKE '%...%'`; pg_trgm only
narrows the candidates and PostgreSQL re-checks each with LIKE, so the index never changes the
result. On SQLite an FTS5 table with the trigram tokenizer (`tasks_search`, kept in step by
triggers, migration 0007) answers a phrase query: the trigrams of the query at consecutive
positions of one column, which is exactly "contains the query".

Queries of one or two characters have no trigram. They are still answered exactly, by a scan
of the rows the rest of the query leaves (`instr` on SQLite; on PostgreSQL the same LIKE,
which the planner runs without the index): a user's own tasks through the owner index, for an
admin every task, stopped early by the page's LIMIT when the character is common.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..models import OPEN_FIRST_INDEXES, Task, fold_for_search

# The FTS5 table of migration 0007 (SQLite only) and the shadow tables FTS5 keeps for it.
FTS_TABLE = "tasks_search"
# A trigram tokenizer yields no token for fewer characters, so shorter queries are scanned.
MIN_INDEXED_LENGTH = 3

_fts = sa.table(FTS_TABLE, sa.column("rowid"))


def _like_pattern(text: str) -> str:
    """`%text%` with LIKE's own characters (%, _ and the escape) taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(folded: str) -> str:
    """An FTS5 query for the exact text: one quoted phrase, inner quotes doubled, so no
    character of the query acts as an FTS5 operator."""
    return '"' + folded.replace('"', '""') + '"'


def task_text_matches(q: str, dialect_name: str) -> sa.ColumnElement[bool]:
    """The condition "the task's title or description contains q", case-insensitively."""
    folded = fold_for_search(q)
    if dialect_name == "sqlite":
        if len(folded) >= MIN_INDEXED_LENGTH:
            return Task.id.in_(
                sa.select(_fts.c.rowid).where(
                    sa.literal_column(FTS_TABLE).op("MATCH")(fts_phrase(folded)))
            )
        return sa.or_(sa.func.instr(Task.search_title, folded) > 0,
                      sa.func.instr(Task.search_description, folded) > 0)
    pattern = _like_pattern(folded)
    return sa.or_(Task.search_title.like(pattern, escape="\\"),
                  Task.search_description.like(pattern, escape="\\"))


def include_in_schema_comparison(dialect_name: str):
    """An Alembic `include_object` hook: the search objects that exist on one database only,
    and the expression indexes that SQLite cannot reflect, are left out of the comparison of
    the models with the database (autogenerate and tests/test_migrations.py); everything
    else is compared."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index" and name in OPEN_FIRST_INDEXES:
            return False  # expression indexes: compared by tests/test_migrations.py itself
        if type_ == "table" and reflected and compare_to is None and name and (
                name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
            return False  # the FTS5 virtual table and its shadow tables (SQLite)
        if type_ == "index" and not reflected and dialect_name != "postgresql":
            using = obj.dialect_options["postgresql"].get("using")
            if using == "gin":
                return False  # pg_trgm indexes (PostgreSQL): SQLite searches through FTS5
        return True

    return include_object
