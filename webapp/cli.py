"""Command-line tools: `flask --app wsgi users create ...`, `flask --app wsgi demo seed`,
`flask --app wsgi tokens create ...` and `flask --app wsgi attachments gc`."""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from werkzeug.serving import WSGIRequestHandler, make_server

from .extensions import db
from .logging import send_console_logs_to_stderr
from .models import PRIORITIES, StatusChange, Task, User, utcnow
from .services import attachments as attachment_service
from .services import tasks as task_service
from .services import tokens as token_service
from .services import users as user_service
from .services.errors import Invalid, StorageUnavailable
from .services.passwords import hash_password

# Each group first moves log lines to stderr, so stdout carries only what the command prints.
users_cli = AppGroup("users", help="Manage accounts.", callback=send_console_logs_to_stderr)
demo_cli = AppGroup("demo", help="Demo data for trying Taskdeck out.",
                    callback=send_console_logs_to_stderr)
tokens_cli = AppGroup("tokens", help="Personal API tokens.", callback=send_console_logs_to_stderr)
attachments_cli = AppGroup("attachments", help="Files attached to tasks.",
                           callback=send_console_logs_to_stderr)
tasks_cli = AppGroup("tasks", help="Housekeeping of tasks.", callback=send_console_logs_to_stderr)

# (username, display name, email, password, role)
DEMO_ACCOUNTS = [
    ("admin", "Ada Admin", "admin@example.com", "taskdeck-admin-demo", "admin"),
    ("john", "John Doe", "john@example.com", "taskdeck-john-demo", "user"),
    ("jane", "Jane Smith", "jane@example.com", "taskdeck-jane-demo", "user"),
    ("bob", "Bob Johnson", "bob@example.com", "taskdeck-bob-demo", "user"),
]

# Per account: (title, description, status, priority, due in days or None, labels). Every
# account has tasks in each column of the board, some overdue, one due today, a few labels.
DEMO_TASKS = {
    "admin": [
        ("Review access of the new hires", "Check roles on the Users page.", "pending", "high",
         0, ["admin", "security"]),
        ("Rotate the API tokens of the backup script", None, "in-progress", "medium", 2,
         ["security"]),
        ("Read last week's audit log", None, "pending", "low", 5, ["admin"]),
        ("Plan the database upgrade", "PostgreSQL 17; test the migrations first.",
         "in-progress", "high", 9, ["infra"]),
        ("Renew the TLS certificate", None, "completed", "high", None, ["infra", "security"]),
        ("Write the quarterly usage report", "Numbers from the dashboard, a page at most.",
         "pending", "medium", -2, ["reports"]),
        ("Archive old projects", None, "completed", "low", None, []),
    ],
    "john": [
        ("Call the plumber about the leak", None, "pending", "high", 0, ["home"]),
        ("Prepare slides for Monday's demo", "Five slides: problem, demo, numbers, next steps.",
         "in-progress", "high", 3, ["work"]),
        ("Book flights to Lisbon", None, "pending", "medium", 12, ["travel"]),
        ("Reply to Priya about the budget", None, "in-progress", "medium", -1, ["work"]),
        ("Buy a birthday present for Sam", "Something for the garden?", "pending", "low", 6,
         ["family"]),
        ("Renew the car insurance", None, "completed", "medium", None, ["home"]),
        ("Submit expense report", None, "completed", "low", None, ["work"]),
        ("Learn the keyboard shortcuts", "Press ? on the task list.", "pending", "low", None,
         []),
    ],
    "jane": [
        ("Draft the grant application", "Section 3 needs the new figures.", "in-progress",
         "high", 4, ["research"]),
        ("Run the survey analysis", None, "pending", "high", 1, ["research", "data"]),
        ("Water the tomatoes", None, "pending", "low", 0, ["garden"]),
        ("Order lab supplies", "Pipette tips and gloves (size M).", "pending", "medium", -3,
         ["lab"]),
        ("Referee report for the journal", None, "in-progress", "medium", 10, ["research"]),
        ("Clean the data pipeline", None, "completed", "medium", None, ["data"]),
        ("Send the conference abstract", None, "completed", "high", None, ["research"]),
    ],
    "bob": [
        ("Fix the flaky checkout test", "Fails about once in twenty runs on CI.",
         "in-progress", "high", 1, ["bugs", "backend"]),
        ("Update the onboarding guide", None, "pending", "medium", 7, ["docs"]),
        ("Pair with Lee on the search feature", None, "pending", "medium", 2, ["backend"]),
        ("Upgrade the front-end dependencies", None, "pending", "low", -4, ["frontend"]),
        ("Investigate slow dashboard query", "Look at the query plan first.", "in-progress",
         "medium", None, ["backend", "perf"]),
        ("Ship release 2.4", None, "completed", "high", None, ["release"]),
        ("Write the post-mortem for Tuesday's outage", None, "completed", "medium", None,
         ["docs"]),
    ],
}


@users_cli.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--admin", is_flag=True, help="Give the account the admin role.")
def create_user_command(username, email, password, display_name, admin):
    """Create an account."""
    try:
        user = user_service.create_user(
            username, email, password, display_name, role="admin" if admin else "user"
        )
    except Invalid as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} {user.username} (id {user.id}).")


def _spread_over_past_weeks(task_id: int, days_ago: int, completed_after: int) -> None:
    """Move a new demo task (and its history) into the past, so the dashboard has a story."""
    created = utcnow() - timedelta(days=days_ago, hours=days_ago % 7)
    completed = created + timedelta(days=completed_after)
    task = db.session.get(Task, task_id)
    done = task.completed_at is not None
    # Core UPDATEs: moving demo data in time is not an edit, so the version stays.
    db.session.execute(sa.update(Task).where(Task.id == task_id).values(
        created_at=created, updated_at=completed if done else created,
        completed_at=completed if done else None,
    ))
    db.session.execute(sa.update(StatusChange).where(
        StatusChange.task_id == task_id, StatusChange.old_status.is_(None)
    ).values(changed_at=created))
    db.session.execute(sa.update(StatusChange).where(
        StatusChange.task_id == task_id, StatusChange.new_status == "completed"
    ).values(changed_at=completed))
    db.session.commit()


@demo_cli.command("seed")
@click.option("--quiet", is_flag=True, help="No audit log lines and no logins printed "
              "(`make run` prints the logins once the server listens).")
def seed_command(quiet):
    """Create the demo accounts and their tasks; safe to run again."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Refusing to load demo data in production (APP_ENV=production).")
    if quiet:
        logging.getLogger("webapp").setLevel(logging.WARNING)
    created = 0
    for username, name, email, password, role in DEMO_ACCOUNTS:
        if db.session.scalar(sa.select(User).where(User.username == username)):
            continue
        user = user_service.create_user(username, email, password, name, role=role)
        created += 1
        for number, (title, description, status, priority, due_in, labels) in enumerate(
                DEMO_TASKS[username]):
            due = utcnow().date() + timedelta(days=due_in) if due_in is not None else None
            # Completed tasks are created open and then completed, as a person would.
            task = task_service.create_task(user, task_service.TaskData(
                title=title, description=description, priority=priority, due_date=due,
                status="pending" if status == "completed" else status, labels=labels,
            ))
            if status == "completed":
                task_service.set_completed(user, task.id, True)
            _spread_over_past_weeks(task.id, days_ago=3 + 4 * number + created,
                                    completed_after=1 + number % 3)
    click.echo("Demo data loaded." if created else "Demo data already present.")
    if not quiet:
        print_demo_logins()


def print_demo_logins() -> None:
    click.echo("Demo logins (username / password):")
    for username, _, _, password, role in DEMO_ACCOUNTS:
        click.echo(f"  {username:<6} / {password}   ({role})")


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its own access line: the app already writes one JSON
    line per request (webapp/logging.py), so each request is logged once."""

    def log_request(self, code="-", size="-") -> None:
        pass


@demo_cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=5000)
def serve_command(host, port):
    """Serve the app for trying it out (`make run`): the address and the demo logins are
    the last lines printed, then one log line per request."""
    server = make_server(host, port, current_app._get_current_object(), threaded=True,
                         request_handler=QuietRequestHandler)
    click.echo(f"Taskdeck is running on http://{host}:{server.server_port}/ (Ctrl+C stops it)")
    print_demo_logins()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--expires", "expires_on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day (UTC) the token works, as YYYY-MM-DD; no expiry when absent.")
@click.option("--write", is_flag=True, default=False,
              help="Allow changes (scope \"read write\"); without it the token may only read.")
def create_token_command(username, name, expires_on, write):
    """Create an API token for USERNAME and print it (alone, for scripts)."""
    user = db.session.scalar(
        sa.select(User).where(User.username == user_service.normalise_username(username))
    )
    if user is None or not user.is_active:
        raise click.ClickException(f"No active account named {username!r}.")
    try:
        _, secret = token_service.create_token(
            user, name, expires_on.date() if expires_on else None,
            scope=token_service.SCOPE_READ_WRITE if write else token_service.SCOPE_READ,
        )
    except Invalid as error:
        raise click.ClickException(str(error)) from None
    click.echo(secret)


BULK_PASSWORD = "taskdeck-bulk-demo"  # noqa: S105 (demo data, refused in production)
BULK_BATCH = 5_000
FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jin",
               "Kai", "Lena", "Mo", "Nia", "Omar", "Pia", "Raj", "Sara", "Tom", "Yui")
LAST_NAMES = ("Abbott", "Bauer", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Haddad",
              "Ito", "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Patel")
VERBS = ("Write", "Review", "Fix", "Plan", "Update", "Call", "Email", "Prepare", "Check",
         "Book", "Draft", "Test", "Clean up", "Order", "Renew", "Migrate", "Document")
OBJECTS = ("the quarterly report", "invoice 4471", "the onboarding guide", "the login page",
           "team offsite", "the supplier contract", "server certificates", "the backlog",
           "release notes", "the budget sheet", "client feedback", "the API docs",
           "the shared drive", "the roadmap", "the dentist", "the database backup")
DESCRIPTIONS = ("", "", "Ask Sam first.", "Due before the board meeting.",
                "Numbers from the dashboard, one page at most.",
                "Follow up on last week's thread and close it out.")
# How a realistic list spreads over the statuses.
STATUS_WEIGHTS = {"pending": 40, "in-progress": 25, "completed": 35}


def _bulk_task_rows(owner_id: int, count: int, now, rng: random.Random):
    """Task rows for one owner, with the status changes each one implies."""
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=STATUS_WEIGHTS.values(), k=count)
    for status in statuses:
        created = now - timedelta(days=rng.uniform(0, 365))
        completed = created + (now - created) * rng.random() if status == "completed" else None
        due = (created + timedelta(days=rng.randint(-10, 60))).date() if rng.random() < 0.7 \
            else None
        first_status = "pending" if status == "completed" else status
        task = {
            "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}",
            "description": rng.choice(DESCRIPTIONS) or None,
            "status": status, "priority": rng.choice(PRIORITIES), "due_date": due,
            "owner_id": owner_id, "created_at": created, "updated_at": completed or created,
            "completed_at": completed, "version": 2 if completed else 1,
        }
        changes = [(None, first_status, created)]
        if completed:
            changes.append((first_status, "completed", completed))
        yield task, changes


def _reserve_ids(table: sa.Table, count: int) -> list[int]:
    """Ids for rows about to be inserted: taken from the sequence on PostgreSQL (safe while
    the app runs), after the current maximum on SQLite (whose writer lock is ours)."""
    if db.engine.dialect.name == "postgresql":
        return list(db.session.scalars(
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        ))
    start = (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
    return list(range(start, start + count))


def _insert_rows(model, rows: list[dict]) -> list[int]:
    """Insert rows with one executemany (no RETURNING, which is slow for large batches)."""
    ids = _reserve_ids(model.__table__, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    db.session.execute(sa.insert(model.__table__), rows)
    return ids


def _insert_tasks(rows) -> int:
    """Insert tasks and their status changes in one executemany per table."""
    ids = _insert_rows(Task, [task for task, _ in rows])
    db.session.execute(sa.insert(StatusChange.__table__), [
        {"task_id": task_id, "old_status": old, "new_status": new,
         "changed_by_id": task["owner_id"], "changed_at": when}
        for task_id, (task, changes) in zip(ids, rows, strict=True)
        for old, new, when in changes
    ])
    return len(ids)


@demo_cli.command("bulk")
@click.option("--users", "user_count", type=click.IntRange(1, 100_000), default=100)
@click.option("--tasks-per-user", type=click.IntRange(0, 100_000), default=100)
@click.option("--seed", type=int, default=7, help="Random seed, for repeatable data.")
def bulk_command(user_count, tasks_per_user, seed):
    """Generate many users with realistic tasks fast (benchmarks); adds to what exists."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Refusing to load demo data in production (APP_ENV=production).")
    started = time.monotonic()
    rng = random.Random(seed)
    now = utcnow()
    first = (db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.username.like("bulk%"))
    ) or 0) + 1
    # One hash for every bulk account: argon2 is slow on purpose, per user it would dominate.
    password_hash = hash_password(BULK_PASSWORD)
    users = [{
        "username": f"bulk{n:06d}", "email": f"bulk{n:06d}@example.com",
        "display_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        "password_hash": password_hash, "role": "user", "is_active": True,
        "session_version": 1, "created_at": now, "updated_at": now,
    } for n in range(first, first + user_count)]
    user_ids = _insert_rows(User, users)
    created, batch = 0, []
    for owner_id in user_ids:
        batch.extend(_bulk_task_rows(owner_id, tasks_per_user, now, rng))
        if len(batch) >= BULK_BATCH:
            created += _insert_tasks(batch)
            batch = []
    if batch:
        created += _insert_tasks(batch)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:  # fresh statistics, so the planner uses the indexes
            conn.execute(sa.text("ANALYZE users, tasks, status_changes"))
            conn.commit()
    click.echo(f"Created {len(user_ids)} users (bulk{first:06d}..) and {created} tasks "
               f"in {time.monotonic() - started:.1f} s. Password for all: {BULK_PASSWORD}")


@attachments_cli.command("gc")
@click.option("--min-age", "min_age_minutes", type=click.IntRange(0, 10**6), default=60,
              show_default=True,
              help="Keep objects younger than this many minutes (an upload in progress "
                   "stores its files a moment before their rows).")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def attachments_gc_command(min_age_minutes, dry_run):
    """Remove stored files that no attachment refers to, and list them."""
    try:
        report = attachment_service.collect_garbage(
            timedelta(minutes=min_age_minutes), dry_run=dry_run
        )
    except StorageUnavailable as error:
        raise click.ClickException(error.message) from None
    verb = "Would remove" if dry_run else "Removed"
    for key, size in report.removed:
        click.echo(f"{verb} {key} ({attachment_service.human_size(size)})")
    total = sum(size for _, size in report.removed)
    click.echo(
        f"{verb} {len(report.removed)} unreferenced object(s), "
        f"{attachment_service.human_size(total)}; kept {report.referenced} in use and "
        f"{report.kept_recent} younger than {min_age_minutes} min."
    )
    if report.failed:
        raise click.ClickException(
            f"Could not remove {len(report.failed)} object(s): {', '.join(report.failed)}"
        )


@tasks_cli.command("purge")
def purge_command():
    """Remove for good the tasks deleted more than 7 days ago (Undo's bin); for cron."""
    total = 0
    while removed := task_service.purge_deleted_tasks():
        total += removed
    click.echo(f"Purged {total} deleted task{'' if total == 1 else 's'}.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(tasks_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(attachments_cli)
