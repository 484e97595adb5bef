"""The command-line tools: creating accounts and loading the demo data."""

import sqlalchemy as sa

from webapp.cli import DEMO_ACCOUNTS, DEMO_TASKS
from webapp.extensions import db
from webapp.models import PRIORITIES, STATUSES, Task, User


def test_users_create_makes_an_admin(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "Boss", "--email", "boss@example.com", "--password", "long-enough-pw",
        "--admin",
    ])
    assert result.exit_code == 0, result.output
    assert "Created admin boss" in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "boss"))
        assert user.role == "admin" and user.password_hash.startswith("$argon2id$")


def test_users_create_refuses_bad_input(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "x", "--email", "nope", "--password", "short"])
    assert result.exit_code != 0
    assert "username" in result.output and "email" in result.output


def test_demo_seed_loads_every_status_and_priority_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0 and "Demo data loaded." in first.output
    assert second.exit_code == 0 and "Demo data already present." in second.output
    for username, _, _, password, _ in DEMO_ACCOUNTS:
        assert f"{username:<6} / {password}" in first.output
    with app.app_context():
        names = set(db.session.scalars(sa.select(User.display_name)))
        assert {"John Doe", "Jane Smith", "Bob Johnson"} <= names
        assert db.session.scalar(sa.select(User.role).where(User.username == "admin")) == "admin"
        john = db.session.scalar(sa.select(User).where(User.username == "john"))
        pairs = db.session.execute(
            sa.select(Task.status, Task.priority).where(Task.owner_id == john.id)).all()
        assert {s for s, _ in pairs} == set(STATUSES)
        assert {p for _, p in pairs} == set(PRIORITIES)
        # The second run added nothing: every account has exactly one set of demo tasks.
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Task))
        assert total == sum(len(tasks) for tasks in DEMO_TASKS.values())


def test_demo_seed_refuses_production(app):
    app.config["ENV_NAME"] = "production"
    try:
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
    finally:
        app.config["ENV_NAME"] = "test"
    assert result.exit_code != 0
    assert "Refusing to load demo data in production" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_demo_seed_spreads_tasks_over_past_weeks_with_history(app):
    from webapp.models import StatusChange

    app.test_cli_runner().invoke(args=["demo", "seed"])
    with app.app_context():
        first, last = db.session.execute(
            sa.select(sa.func.min(Task.created_at), sa.func.max(Task.created_at))).one()
        assert (last - first).days >= 21
        completed = db.session.scalars(sa.select(Task).where(Task.status == "completed")).all()
        assert completed and all(t.completed_at > t.created_at for t in completed)
        steps = db.session.execute(
            sa.select(StatusChange.old_status, StatusChange.new_status, StatusChange.changed_at)
            .where(StatusChange.task_id == completed[0].id).order_by(StatusChange.changed_at)
        ).all()
        assert [(old, new) for old, new, _ in steps] == [
            (None, "pending"), ("pending", "completed")]
        assert steps[1][2] == completed[0].completed_at


def test_demo_data_differs_per_account_and_fills_every_board_column(app):
    from webapp.models import Label

    assert app.test_cli_runner().invoke(args=["demo", "seed", "--quiet"]).exit_code == 0
    with app.app_context():
        titles = {}
        for user in db.session.scalars(sa.select(User)):
            tasks = db.session.scalars(sa.select(Task).where(Task.owner_id == user.id)).all()
            titles[user.username] = {t.title for t in tasks}
            assert {t.status for t in tasks} == set(STATUSES), user.username
            assert any(t.labels for t in tasks), user.username
            assert len({t.due_date for t in tasks}) >= 4, user.username
            assert all(label.owner_id == user.id for t in tasks for label in t.labels)
        accounts = list(titles)
        for n, first in enumerate(accounts):
            for second in accounts[n + 1:]:
                assert not titles[first] & titles[second], (first, second)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Label)) >= 12
