"""Accounts: registration, authentication and look-ups."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app

from ..extensions import db
from ..models import ROLES, ApiToken, User, utcnow
from . import audit, throttle
from .errors import Forbidden, Invalid, LastAdmin, NotFound, Throttled
from .passwords import hash_password, needs_rehash, verify_password
from .permissions import can
from .text import has_visible_character, nul_errors, valid_id

USERNAME_PATTERN = r"^[a-z0-9_.-]{3,32}$"
USERNAME_RE = re.compile(USERNAME_PATTERN)
USERNAME_RULE = "3 to 32 characters: lower-case letters, digits, _ . -"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 200
DISPLAY_NAME_MAX = 100  # the column's size
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The obvious passwords refused at registration and password change (lower-case)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_problems(password: str, username: str) -> list[str]:
    """Why a new password is refused (empty when it is acceptable); the one password rule."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [f"Password must be at least {PASSWORD_MIN_LENGTH} characters."]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [f"Password must be at most {PASSWORD_MAX_LENGTH} characters."]
    lowered = password.lower()
    if username and lowered == username.lower():
        return ["Password must not be your username."]
    if lowered in common_passwords():
        return ["That password is too common; choose one that is harder to guess."]
    return []


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_new_account(username: str, email: str, password: str) -> dict[str, list[str]]:
    """Return field errors for a new account (format and uniqueness)."""
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.fullmatch(username):
        errors["username"] = [f"Username must be {USERNAME_RULE}."]
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        errors["email"] = ["Enter a valid email address."]
    if problems := password_problems(password, username):
        errors["password"] = problems
    if "username" not in errors and db.session.scalar(
        sa.select(User.id).where(User.username == username)
    ):
        errors["username"] = ["That username is taken."]
    if "email" not in errors and db.session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = ["An account with that email already exists."]
    return errors


def create_user(
    username: str,
    email: str,
    password: str,
    display_name: str | None = None,
    role: str = "user",
    created_by: User | None = None,
) -> User:
    """Create an account (registration, CLI, demo data, an admin through the API); raises
    Invalid on bad input. `created_by` is the admin who made it (the audit's actor); without
    one the new user is."""
    username, email = normalise_username(username), normalise_email(email)
    if role not in ROLES:
        raise Invalid({"role": [f"Role must be one of {', '.join(ROLES)}."]})
    errors = nul_errors(display_name=display_name) or validate_new_account(
        username, email, password)
    if display_name and len(display_name.strip()) > DISPLAY_NAME_MAX:
        errors["display_name"] = [f"Display name must be at most {DISPLAY_NAME_MAX} characters."]
    if errors:
        raise Invalid(errors)
    user = User(
        username=username,
        email=email,
        # A name that draws nothing would leave the user unnamed on every page.
        display_name=display_name.strip() if has_visible_character(display_name) else username,
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    audit.record(created_by or user, "user.create", user, {"role": role})
    db.session.commit()
    return user


def create_account(actor: User, username: str, email: str, password: str,
                   display_name: str | None = None, role: str = "user") -> User:
    """An admin creates an account (the API's POST /api/users), with the rules of
    registration and of the CLI's `users create`."""
    if not can(actor, "manage_users"):
        raise Forbidden("manage_users", "Only admins can manage accounts.")
    return create_user(username, email, password, display_name, role, created_by=actor)


def check_credentials(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None (whatever was wrong).

    Both outcomes are written to the audit trail (auth.login, auth.login_failed). No limit
    applies here: every login path calls `services.logins.log_in`, which does.
    """
    name = normalise_username(username)
    user = db.session.scalar(sa.select(User).where(User.username == name)) if len(
        name) <= 32 else None
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        audit.record(None, "auth.login_failed", user, {"username": name[:64]})
        db.session.commit()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(user, "auth.login", user)
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of the user (caller commits).

    Sessions store "<id>:<session_version>" (User.get_id), and the loader refuses an old
    version, so even a copy of a cookie taken earlier stops working.
    """
    user.session_version += 1


def log_out(user: User) -> None:
    """End the user's sessions on every device (logout) and record it."""
    end_sessions(user)
    audit.record(user, "auth.logout", user)
    db.session.commit()


PASSWORD_CHECK = throttle.Budget(
    "password-check", "PASSWORD_CHECK_LIMIT",
    "Too many wrong current passwords. Your sessions have been ended; log in again later.",
)


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Set a new password after checking the current one; ends every session of the user.

    The current password is checked under the user's PASSWORD_CHECK_LIMIT, a place taken
    before the check and given back when it is right, so someone holding a stolen session
    cannot guess it: once the budget is used up every attempt is refused (Throttled), and the
    first refusal in a window ends all the user's sessions (the stolen one too) and records
    auth.password_check_throttled. The caller starts a new session for the device that made
    the change.
    """
    try:
        place = throttle.reserve(PASSWORD_CHECK, str(user.id))
    except Throttled as refusal:
        _end_sessions_after_guessing(user, refusal)
        raise
    if not verify_password(user.password_hash, current_password):
        raise Invalid({"current_password": ["That is not your current password."]})
    place.refund()
    if problems := password_problems(new_password, user.username):
        raise Invalid({"new_password": problems})
    user.password_hash = hash_password(new_password)
    end_sessions(user)
    audit.record(user, "auth.password_change", user)
    db.session.commit()
    return user


def _end_sessions_after_guessing(user: User, refusal: Throttled) -> None:
    """Once per window: end every session of a user whose current password is being guessed."""
    window = max(item.get_expiry() for item in PASSWORD_CHECK.limits())
    if not throttle.once_per_window(PASSWORD_CHECK.name, str(user.id), window):
        return
    end_sessions(user)
    audit.record(None, "auth.password_check_throttled", user, {
        "limit": current_app.config[PASSWORD_CHECK.setting],
        "retry_after_seconds": refusal.retry_after,
    })
    db.session.commit()


def load_session_user(session_id: str) -> User | None:
    """Return the user of a session id "<id>:<session_version>", if still active and current."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit() or len(user_id) > 19 or len(version) > 19:
        return None
    if not valid_id(int(user_id)):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def get_user_for(actor: User, user_id: int) -> User:
    """Return a user the actor may see: themself, or anyone for an admin."""
    user = db.session.get(User, user_id) if valid_id(user_id) else None
    if user is None or (user.id != actor.id and not can(actor, "manage_users")):
        raise NotFound("user", user_id)
    return user


def assignable_users(actor: User) -> list[User]:
    """Users a task can be given to by the actor: active accounts for admins, else only self."""
    if not can(actor, "assign"):
        return [actor]
    return list(
        db.session.scalars(sa.select(User).where(User.is_active).order_by(User.username))
    )


def filter_owner_choices(actor: User) -> list[sa.Row]:
    """Users an actor may filter tasks or figures by: every account for admins, else none.

    Rows of (id, username, display_name), all a choice shows: an admin's list page and
    dashboard list every account, and building a full User per account cost most of an
    admin's page at 10,000 accounts (docs/BENCHMARKS.md). Still one row per account: a
    picker that asks the server for matching names would remove the rest."""
    if not can(actor, "view_all_tasks"):
        return []
    return list(db.session.execute(
        sa.select(User.id, User.username, User.display_name).order_by(User.username)))


def _other_active_admins(user: User) -> int:
    """How many active admins there are besides the user, rows locked until the commit.

    The lock (FOR UPDATE on PostgreSQL) makes two admins demoting each other at the same
    moment wait for one another, so the last-admin rule holds under concurrency too.
    """
    ids = db.session.scalars(
        sa.select(User.id)
        .where(User.role == "admin", User.is_active, User.id != user.id)
        .with_for_update()
    ).all()
    return len(ids)


def _managed_user(actor: User, user_id: int) -> User:
    if not can(actor, "manage_users"):
        raise Forbidden("manage_users", "Only admins can manage accounts.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


def set_role(actor: User, user_id: int, role: str) -> User:
    """Give an account the role (admins only); the last active admin keeps theirs."""
    return update_account(actor, user_id, role=role)


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate or reactivate an account (admins only).

    Deactivating ends the user's sessions and API tokens at once: the user loader refuses
    inactive users, the bumped session version makes old session cookies useless even after
    a reactivation, and the tokens are revoked. The last active admin cannot be deactivated,
    and nobody deactivates themself.
    """
    return update_account(actor, user_id, active=active)


def update_account(actor: User, user_id: int, role: str | None = None,
                   active: bool | None = None) -> User:
    """Change an account's role and/or whether it is active (admins only), in one
    transaction: refused as a whole (Invalid, LastAdmin) or applied as a whole."""
    user = _managed_user(actor, user_id)
    try:
        if role is not None:
            _change_role(actor, user, role)
        if active is not None:
            _change_active(actor, user, active)
    except Invalid:
        db.session.rollback()
        raise
    db.session.commit()
    return user


def _change_role(actor: User, user: User, role: str) -> None:
    if role not in ROLES:
        raise Invalid({"role": [f"Role must be one of {', '.join(ROLES)}."]})
    if user.role == role:
        return
    if user.is_admin and user.is_active and _other_active_admins(user) == 0:
        raise LastAdmin({"role": ["The last active admin cannot be demoted."]})
    audit.record(actor, "user.role_change", user, {"role": [user.role, role]})
    user.role = role


def _change_active(actor: User, user: User, active: bool) -> None:
    if user.is_active == active:
        return
    changes = None
    if not active:
        if user.id == actor.id:
            raise Invalid({"is_active": ["You cannot deactivate your own account."]})
        if user.is_admin and _other_active_admins(user) == 0:
            raise LastAdmin({"is_active": ["The last active admin cannot be deactivated."]})
        end_sessions(user)
        changes = {"tokens_revoked": _revoke_tokens(user)}
    user.is_active = active
    audit.record(actor, "user.activate" if active else "user.deactivate", user, changes)


def _revoke_tokens(user: User) -> int:
    """Revoke every live API token of the user (caller commits); returns how many."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def users_visible_to(actor: User) -> list[User]:
    """Accounts the actor may see, by id: everyone for an admin, else only themself."""
    if not can(actor, "manage_users"):
        return [actor]
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def set_time_zone(user: User, name: str | None) -> bool:
    """Remember the zone the user's browser reported ("Europe/Paris"), so pages rendered
    by the server show times there; returns whether it changed. Invalid for unknown names."""
    from .dates import is_time_zone

    name = (name or "").strip()
    if not is_time_zone(name):
        raise Invalid({"time_zone": ["Unknown time zone."]})
    if user.time_zone == name:
        return False
    user.time_zone = name
    db.session.commit()
    return True
