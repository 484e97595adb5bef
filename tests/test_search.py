"""Text search: one table of queries and the tasks they find, run on SQLite and on PostgreSQL
(the suite runs on both), so the two databases give the same answers; the index each
database uses; the folded text kept in step with every way a task is written."""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.factories import add_task
from webapp.extensions import db
from webapp.models import Task, User, fold_for_search
from webapp.services import tasks as task_service
from webapp.services.task_queries import TaskFilters, filtered_tasks

DECOMPOSED_E = "e\u0301"  # "é" as two code points, as some keyboards and systems send it

# Alice's tasks by name: (title, description).
ALICE_TASKS = {
    "cafe": ("Café Émile", None),
    "noir": (f"Cafe{DECOMPOSED_E[1]} noir", "Espresso"),  # stored decomposed
    "strasse": ("Straße fegen", None),
    "haupt": ("HAUPTSTRASSE 5", "Hof kehren"),
    "greek": ("ΟΔΥΣΣΕΥΣ lesen", None),
    "percent": ("100% done_ish", None),
    "quote": ('Say "hello" to O\'Brien', None),
    "backslash": ("Copy C:\\temp\\x", None),
    "milk": ("Buy milk", "From the CORNER shop"),
}
# Oscar's task matches many queries too: alice never sees it, an admin does.
OSCAR_TASK = ("Café & Straße for oscar", "100% milk")

# The shared table: query -> the names of alice's tasks it finds.
QUERIES = [
    ("café", {"cafe", "noir"}),
    ("CAFÉ", {"cafe", "noir"}),
    (f"caf{DECOMPOSED_E}", {"cafe", "noir"}),  # a decomposed query finds composed text
    ("émile", {"cafe"}),
    ("ÉMILE", {"cafe"}),
    ("é", {"cafe", "noir"}),  # one character
    ("É", {"cafe", "noir"}),
    ("straße", {"strasse", "haupt"}),  # ß folds to ss, so STRASSE is the same word
    ("STRASSE", {"strasse", "haupt"}),
    ("ß", {"strasse", "haupt", "noir"}),  # "Espresso" has ss too
    ("ẞ", {"strasse", "haupt", "noir"}),  # capital sharp s
    ("Οδυσσευς", {"greek"}),  # final sigma folds like the capital
    ("%", {"percent"}),  # LIKE's wildcards are plain characters
    ("_", {"percent"}),
    ("0%", {"percent"}),
    ("100% d", {"percent"}),
    ("%d", set()),
    ("e_i", {"percent"}),
    ('"', {"quote"}),  # quotes are not FTS5 syntax here
    ('"hello"', {"quote"}),
    ("'", {"quote"}),
    ("o'brien", {"quote"}),
    ('"hello" to o', {"quote"}),
    ("\\", {"backslash"}),  # nor is the backslash an escape
    ("\\x", {"backslash"}),
    ("c:\\temp\\", {"backslash"}),
    ("k", {"milk", "haupt"}),
    ("mi", {"cafe", "milk"}),
    ("corner", {"milk"}),  # the description is searched too
    ("ESPRESSO", {"noir"}),
    ("milk from", set()),  # not across the title and the description
    ("AND", set()),  # FTS5 operators are text
    ("milk OR café", set()),
    ("NEAR(milk)", set()),
    ("*", set()),
    ("no such words", set()),
]


def reference_match(q: str, title: str, description: str | None) -> bool:
    """The meaning in plain Python: the folded query inside the folded title or description."""
    folded = unicodedata.normalize("NFC", q.casefold())
    return any(folded in unicodedata.normalize("NFC", text.casefold())
               for text in (title, description) if text)


@pytest.fixture
def search_data(ctx, user, other_user, admin):
    created = datetime(2026, 1, 1)
    ids = {}
    for n, (name, (title, description)) in enumerate(ALICE_TASKS.items()):
        ids[name] = add_task(user.id, title, created + timedelta(hours=n),
                             description=description)
    ids["oscar"] = add_task(other_user.id, OSCAR_TASK[0], created, description=OSCAR_TASK[1])
    db.session.commit()
    ids = {name: task.id for name, task in ids.items()}
    return ids, db.session.get(User, user.id), db.session.get(User, admin.id)


def found(actor, q: str) -> set[int]:
    return set(db.session.scalars(
        filtered_tasks(actor, TaskFilters(q=q)).with_only_columns(Task.id)))


def test_the_shared_table_states_the_meaning():
    """Each row agrees with the definition in plain Python, so the table itself is right."""
    wrong = [q for q, expected in QUERIES if expected != {
        name for name, (title, description) in ALICE_TASKS.items()
        if reference_match(q, title, description)}]
    assert wrong == []


def test_search_finds_the_tasks_of_the_shared_table(search_data):
    ids, alice, root = search_data
    wrong = []
    for q, expected in QUERIES:
        oscar = {"oscar"} if reference_match(q, *OSCAR_TASK) else set()
        for actor, names in ((alice, expected), (root, expected | oscar)):
            got = found(actor, q)
            if got != {ids[name] for name in names}:
                wrong.append((actor.username, q, sorted(got)))
    assert wrong == []


def test_search_on_the_page_and_the_api_keeps_to_the_users_tasks(search_data, user_client,
                                                                   user, make_token, client):
    html = user_client.get("/tasks", query_string={"q": "STRASSE"}).get_data(as_text=True)
    assert "Straße fegen" in html and "HAUPTSTRASSE 5" in html
    assert "for oscar" not in html and "2 tasks match" in html
    token = make_token(user)
    body = client.get("/api/tasks", query_string={"q": "café"},
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert sorted(t["title"] for t in body["tasks"]) == sorted(
        [ALICE_TASKS["cafe"][0], ALICE_TASKS["noir"][0]])


def test_search_follows_edits_deletes_and_bulk_inserts(ctx, user, admin):
    alice = db.session.get(User, user.id)
    task = task_service.create_task(alice, task_service.TaskData(title="Gießkanne füllen"))
    assert found(alice, "GIESSKANNE") == {task.id}
    task_service.update_task(alice, task.id, task_service.TaskData(
        title="Rasen mähen", description="Vor dem REGEN"), task.version)
    assert found(alice, "giesskanne") == set()
    assert found(alice, "MÄHEN") == found(alice, "regen") == {task.id}
    # Rows inserted without the ORM (as `flask demo bulk` does) are folded too.
    db.session.execute(sa.insert(Task.__table__), [{
        "title": "ÜBERWEISUNG prüfen", "description": None, "status": "pending",
        "priority": "low", "owner_id": user.id, "version": 1,
        "created_at": datetime(2026, 1, 1), "updated_at": datetime(2026, 1, 1)}])
    db.session.commit()
    bulk_id = db.session.scalar(sa.select(Task.id).where(Task.title == "ÜBERWEISUNG prüfen"))
    assert found(alice, "überweisung") == {bulk_id}
    task_service.delete_task(alice, task.id)
    assert found(alice, "mähen") == set()
    assert found(db.session.get(User, admin.id), "mähen") == set()


def test_folding_is_unicode_case_folding_then_nfc():
    assert fold_for_search("Straße") == fold_for_search("STRASSE") == "strasse"
    assert fold_for_search("É") == fold_for_search(f"E{DECOMPOSED_E[1]}") == "é"
    assert fold_for_search(None) is None


# --- The index each database uses ----------------------------------------------------------

WORDS = ["report", "budget", "invoice", "meeting", "review", "deploy", "backup", "garden",
         "plumber", "dentist", "taxes", "library", "groceries", "laundry", "birthday"]


def insert_many(owner_ids: list[int], count: int, rare_every: int) -> None:
    """`count` tasks with ordinary words; every `rare_every`-th says "zebra"."""
    rng = random.Random(15)
    now = datetime(2026, 1, 1)
    rows = []
    for n in range(count):
        title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {n}"
        if n % rare_every == 0:
            title += " Zebra crossing"
        rows.append({"title": title, "description": f"{rng.choice(WORDS)} notes",
                     "status": "pending", "priority": "medium",
                     "owner_id": owner_ids[n % len(owner_ids)], "version": 1,
                     "created_at": now - timedelta(minutes=n), "updated_at": now})
    db.session.execute(sa.insert(Task.__table__), rows)
    db.session.commit()


def explain(statement: sa.Select) -> str:
    """The database's plan for the statement, with its parameters bound as the app binds them."""
    if db.engine.dialect.name == "sqlite":
        sql = statement.compile(dialect=db.engine.dialect,
                                compile_kwargs={"literal_binds": True})
        rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return "\n".join(str(row[-1]) for row in rows)
    compiled = statement.compile(dialect=db.engine.dialect)
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(row[0] for row in rows)


def vacuum_analyze() -> None:
    """What autovacuum does after a bulk load: statistics, and the GIN indexes' pending
    entries moved into the index proper (until then every search reads them one by one)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE tasks"))


def test_postgresql_search_uses_the_trigram_indexes_at_a_realistic_size(ctx, user,
                                                                        other_user, admin):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    insert_many([user.id, other_user.id], 30_000, rare_every=1001)
    vacuum_analyze()
    for actor_id in (admin.id, user.id):  # every task, and one owner's 15,000
        actor = db.session.get(User, actor_id)
        for statement in (filtered_tasks(actor, TaskFilters(q="ZEBRA")),
                          filtered_tasks(actor, TaskFilters(q="ZEBRA")).limit(26)):
            plan = explain(statement)
            assert "Bitmap Index Scan on ix_tasks_search_title_trgm" in plan, plan
            assert "Bitmap Index Scan on ix_tasks_search_description_trgm" in plan, plan
            assert "Seq Scan on tasks" not in plan, plan
    assert len(found(db.session.get(User, admin.id), "ZEBRA")) == 30
    assert len(found(db.session.get(User, user.id), "ZEBRA")) == 15


def test_sqlite_search_uses_fts5_and_scans_only_for_short_queries(ctx, user):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    insert_many([user.id], 2_000, rare_every=100)
    alice = db.session.get(User, user.id)
    plan = explain(filtered_tasks(alice, TaskFilters(q="ZEBRA")))
    assert "SCAN tasks_search VIRTUAL TABLE INDEX" in plan, plan
    assert len(found(alice, "ZEBRA")) == 20
    short = explain(filtered_tasks(alice, TaskFilters(q="zé")))
    assert "VIRTUAL TABLE" not in short, short
    assert found(alice, "zé") == set()
