"""Command-line tools: `flask --app wsgi users create ...`, `flask --app wsgi demo seed` and
`flask --app wsgi tokens create ...`."""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db
from .models import User, utcnow
from .services import tasks as task_service
from .services import tokens as token_service
from .services import users as user_service
from .services.errors import Invalid

users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data for trying Taskdeck out.")
tokens_cli = AppGroup("tokens", help="Personal API tokens.")

# (username, display name, email, password, role)
DEMO_ACCOUNTS = [
    ("admin", "Ada Admin", "admin@example.com", "taskdeck-admin-demo", "admin"),
    ("john", "John Doe", "john@example.com", "taskdeck-john-demo", "user"),
    ("jane", "Jane Smith", "jane@example.com", "taskdeck-jane-demo", "user"),
    ("bob", "Bob Johnson", "bob@example.com", "taskdeck-bob-demo", "user"),
]

# (title, description, status, priority, due in days or None)
DEMO_TASKS = [
    ("Plan the week", "Pick the three things that matter most.", "pending", "high", 1),
    ("Reply to the client email", None, "in-progress", "medium", 0),
    ("Book the dentist", None, "pending", "low", 14),
    ("Write the quarterly report", "Numbers from the dashboard, a page at most.",
     "in-progress", "high", -2),
    ("Renew the domain", None, "completed", "medium", None),
    ("Tidy the shared drive", None, "completed", "low", None),
    ("Fix the login page typo", None, "completed", "high", -5),
    ("Read the onboarding guide", None, "pending", "medium", None),
]


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


@demo_cli.command("seed")
def seed_command():
    """Create the demo accounts and their tasks; safe to run again."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Refusing to load demo data in production (APP_ENV=production).")
    created = 0
    for username, name, email, password, role in DEMO_ACCOUNTS:
        if db.session.scalar(sa.select(User).where(User.username == username)):
            continue
        user = user_service.create_user(username, email, password, name, role=role)
        created += 1
        for title, description, status, priority, due_in in DEMO_TASKS:
            due = utcnow().date() + timedelta(days=due_in) if due_in is not None else None
            task_service.create_task(user, task_service.TaskData(
                title=title, description=description, status=status, priority=priority,
                due_date=due,
            ))
    click.echo("Demo data loaded." if created else "Demo data already present.")
    click.echo("Demo logins (username / password):")
    for username, _, _, password, role in DEMO_ACCOUNTS:
        click.echo(f"  {username:<6} / {password}   ({role})")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--expires", "expires_on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day (UTC) the token works, as YYYY-MM-DD; no expiry when absent.")
def create_token_command(username, name, expires_on):
    """Create an API token for USERNAME and print it (alone, for scripts)."""
    user = db.session.scalar(
        sa.select(User).where(User.username == user_service.normalise_username(username))
    )
    if user is None or not user.is_active:
        raise click.ClickException(f"No active account named {username!r}.")
    try:
        _, secret = token_service.create_token(
            user, name, expires_on.date() if expires_on else None
        )
    except Invalid as error:
        raise click.ClickException(str(error)) from None
    click.echo(secret)


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(tokens_cli)
