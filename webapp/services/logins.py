"""Logging in and registering under limits that cannot be raced or turned against the owner.

Every way in (the login page, the API's token login, registration) calls this module, so the
same budgets count every attempt whichever door it comes through:

- `log_in(username, password, client_ip=..., device_token=...)` checks a password under the
  failed-login limits and returns a `LoginResult`; over a limit it raises `Throttled` (429
  with Retry-After) before any password is checked, even the right one.
- `reserve_registration(client_ip)` spends one registration attempt of the address.

Failed-login limits (each a `throttle.Budget`; the values are settings):

- per client address, `LOGIN_IP_LIMIT` (5 per minute): every attempt;
- per username, `LOGIN_USERNAME_LIMIT` (20 per hour): attempts from browsers that have
  never logged in to that account;
- per device, `LOGIN_DEVICE_LIMIT` (20 per hour): attempts from a browser that has logged in
  to that account before ("device cookie", OWASP's defence against lockout): its own budget,
  so a stranger's failures, which use up the username's, do not lock the owner out. A device
  that uses up its own budget is treated like an unknown one.

A place is taken before the password is checked and given back when the login succeeds, so
at most the limit of failures (or checks in flight) ever happen in a window. When a username's
or a device's budget is first used up in a window, an `auth.login_throttled` audit event tells
the admins that the account is under attack.

The device cookie is a signed list of (username, random nonce) pairs, the most recent first;
it carries no secret and cannot be forged without SECRET_KEY.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import User
from . import audit, throttle, users
from .errors import Throttled

log = logging.getLogger("webapp.logins")

TOO_MANY = "Too many failed logins. Wait a little, then try again."
LOGIN_IP = throttle.Budget("login-ip", "LOGIN_IP_LIMIT", TOO_MANY)
LOGIN_USERNAME = throttle.Budget(
    "login-username", "LOGIN_USERNAME_LIMIT",
    "Too many failed logins for this account. A browser you have logged in with before can "
    "still log in; from others, wait a little, then try again.",
)
LOGIN_DEVICE = throttle.Budget("login-device", "LOGIN_DEVICE_LIMIT", TOO_MANY)
REGISTRATION_IP = throttle.Budget(
    "register-ip", "REGISTER_LIMIT", "Too many registrations from your address. Try later."
)
USERNAME_KEY_MAX = 64  # what is typed is the key (existing account or not), cut to size
DEVICE_COOKIE_SALT = "taskdeck.device-cookie"
DEVICES_PER_COOKIE = 5  # accounts one browser is remembered for


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the user (None when refused) and, after a success, the
    device cookie value to send back so this browser keeps its own budget next time."""

    user: User | None
    device_token: str | None = None


def log_in(username: str, password: str, *, client_ip: str | None,
           device_token: str | None = None) -> LoginResult:
    """Check the credentials under the failed-login limits (see the module docstring).

    Raises Throttled when the address, the username (unknown browser) or the device is over
    its limit: no password is checked then. Writes auth.login / auth.login_failed (and
    auth.login_throttled once per window) to the audit trail.
    """
    name = users.normalise_username(username)[:USERNAME_KEY_MAX]
    nonce = device_nonce(device_token, name)
    places = [throttle.reserve(LOGIN_IP, client_ip or "unknown")]
    try:
        places.append(_reserve_account_place(name, nonce))
    except Throttled:
        places[0].refund()  # no password was checked
        raise
    try:
        user = users.check_credentials(name, password)
    except BaseException:
        for place in places:
            place.refund()
        raise
    if user is None:
        return LoginResult(None)  # the places stay taken: the failure counts
    for place in places:
        place.refund()
    return LoginResult(user, issue_device_token(device_token, name))


def _reserve_account_place(name: str, nonce: str | None) -> throttle.Reservation:
    """A place in the device's own budget, else (unknown browser, or a device over its own
    budget) in the username's budget for unknown browsers."""
    if nonce is not None:
        try:
            return throttle.reserve(LOGIN_DEVICE, f"{name}/{nonce}")
        except Throttled as refusal:
            _alert_account_under_attack(name, LOGIN_DEVICE, refusal)
    try:
        return throttle.reserve(LOGIN_USERNAME, name)
    except Throttled as refusal:
        _alert_account_under_attack(name, LOGIN_USERNAME, refusal)
        raise


def _alert_account_under_attack(name: str, budget: throttle.Budget, refusal: Throttled) -> None:
    """Once per window: an audit event about the account, and a warning in the log."""
    window = max(item.get_expiry() for item in budget.limits())
    if not throttle.once_per_window(f"alert/{budget.name}", name, window):
        return
    log.warning("failed-login limit reached for username %r (%s)", name, budget.name,
                extra={"event": "login_throttled", "username": name, "budget": budget.name})
    try:
        user = db.session.scalar(sa.select(User).where(User.username == name))
        if user is None:
            return  # nobody to warn about an account that does not exist
        audit.record(None, "auth.login_throttled", user, {
            "username": name, "budget": budget.name,
            "limit": current_app.config[budget.setting],
            "retry_after_seconds": refusal.retry_after,
        })
        db.session.commit()
    except SQLAlchemyError:
        # The refusal matters more than the alert: the 429 is answered anyway.
        db.session.rollback()
        log.warning("could not record the login_throttled audit event", exc_info=True)


def reserve_registration(client_ip: str | None) -> None:
    """Spend one registration attempt of the address (not given back); raises Throttled."""
    throttle.reserve(REGISTRATION_IP, client_ip or "unknown")


# --- Device cookies ----------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]  # newest last
    return URLSafeTimedSerializer(keys, salt=DEVICE_COOKIE_SALT)


def _devices(token: str | None) -> list[list[str]]:
    """The (username, nonce) pairs of a valid, unexpired device cookie; [] otherwise."""
    if not token or len(token) > 2048:
        return []
    max_age = current_app.config["DEVICE_COOKIE_DAYS"] * 24 * 3600
    try:
        pairs = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return []
    if not isinstance(pairs, list):
        return []
    return [pair for pair in pairs if isinstance(pair, list) and len(pair) == 2
            and all(isinstance(part, str) for part in pair)][:DEVICES_PER_COOKIE]


def device_nonce(token: str | None, username: str) -> str | None:
    """The nonce this browser was given for the account, when its cookie is valid."""
    for name, nonce in _devices(token):
        if name == username:
            return nonce
    return None


def issue_device_token(token: str | None, username: str) -> str:
    """The device cookie after a successful login: this account first (same nonce as before,
    or a new one), then the others the browser was remembered for."""
    pairs = _devices(token)
    nonce = device_nonce(token, username) or secrets.token_urlsafe(16)
    others = [pair for pair in pairs if pair[0] != username]
    return _serializer().dumps([[username, nonce], *others][:DEVICES_PER_COOKIE])
