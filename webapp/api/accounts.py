"""Accounts through the API: token login and logout for scripts, registration, and the
admins' account management (#16 points 2 and 4).

Every rule is the pages' own: the login goes through services.logins.log_in (the login
page's failed-login limits, per address and per username), registration through
services.users.create_user after services.logins.reserve_registration (the register page's
per-address limit), and the admin changes through services.users.update_account (the last
active admin stays). Field messages are the services' messages, under the API's field names.
"""

from __future__ import annotations

from typing import Literal

from flask import jsonify, request
from pydantic import Field

from ..errors import error_response
from ..models import ROLES
from ..services import audit, logins, tokens, users
from ..services.errors import Invalid, LastAdmin
from ..services.users import PASSWORD_MAX_LENGTH
from .auth import api_caller
from .schemas import User
from .serializers import timestamp, user_json
from .spec import WRITE, ApiModel, BodyModel, ErrorBody, Response, endpoint
from .tasks import WRITE_ERRORS
from .views import COMMON, bp

LOGIN_FAILED = "Invalid username or password."
# The services' field names, as the API spells them.
API_FIELD_NAMES = {"display_name": "name", "is_active": "isActive",
                   "expires_in_hours": "expiresInHours"}
# A public endpoint taking a body: what the blueprint refuses before it (malformed JSON 400,
# too large 413, not JSON 415), the method, and the limits.
PUBLIC_ERRORS = {"HTTP_400": ErrorBody, "HTTP_405": ErrorBody, "HTTP_413": ErrorBody,
                 "HTTP_415": ErrorBody, "HTTP_429": ErrorBody}


class TokenRequest(BodyModel):
    """Credentials for a token. The token may read and write, like its owner."""

    username: str = Field(max_length=200)
    password: str = Field(max_length=PASSWORD_MAX_LENGTH)
    name: str | None = Field(None, description="The token's name in the token list (default: "
                             "\"API login\").")
    expiresInHours: int | None = Field(
        None, description=f"Lifetime in hours: default {tokens.LOGIN_TOKEN_DEFAULT_HOURS}, at "
        f"most {tokens.LOGIN_TOKEN_MAX_HOURS} (30 days).")


class TokenIssued(ApiModel):
    """A new bearer token: send it as `Authorization: Bearer <token>`. Shown once."""

    token: str = Field(examples=["td_…"])
    tokenType: Literal["Bearer"]
    expiresAt: str = Field(json_schema_extra={"format": "date-time"})
    scope: Literal["read write"]


class RegisterRequest(BodyModel):
    """A new account, under the register page's rules."""

    username: str
    email: str
    password: str
    name: str | None = Field(None, description="Display name (default: the username).")


class UserCreate(RegisterRequest):
    """An account created by an admin, under the rules of registration and of the CLI."""

    role: Literal[ROLES] = "user"  # type: ignore[valid-type]


class UserChange(BodyModel):
    """Change an account's role and/or whether it may log in; absent fields stay."""

    role: Literal[ROLES] | None = None  # type: ignore[valid-type]
    isActive: bool | None = None


def invalid(error: Invalid, status: int = 422, code: str = "invalid",
            message: str = "Some values are not valid."):
    """A service's refusal with its messages, under the API's field names."""
    fields = {API_FIELD_NAMES.get(name, name): messages
              for name, messages in error.field_errors.items()}
    return error_response(status, message, code, fields)


@bp.post("/auth/token")
@endpoint(public=True, json=TokenRequest, tags=["authentication"],
          operation_id="create_token_by_login",
          resp=Response(HTTP_201=TokenIssued, HTTP_401=ErrorBody, HTTP_422=ErrorBody,
                        **PUBLIC_ERRORS))
def issue_token():
    """Log in for a token

    A read-write bearer token for these credentials. Wrong credentials and a deactivated
    account get the same 401. Failed attempts count against the login page's limits (per
    address and per username): over them every attempt is 429 with `Retry-After`, even one
    with the right password, until the window passes.
    """
    body = request.context.json
    with audit.marked_via("api"):
        try:
            lifetime = tokens.login_token_lifetime(body.expiresInHours)
        except Invalid as error:
            return invalid(error)
        result = logins.log_in(body.username, body.password, client_ip=request.remote_addr)
        if result.user is None:
            resp = error_response(401, LOGIN_FAILED, "invalid_credentials")
            resp[0].headers["WWW-Authenticate"] = 'Bearer realm="taskdeck"'
            return resp
        try:
            token, secret = tokens.create_token(
                result.user, body.name if body.name is not None else "API login",
                scope=tokens.SCOPE_READ_WRITE, lifetime=lifetime)
        except Invalid as error:
            return invalid(error)
    resp = jsonify({"token": secret, "tokenType": "Bearer",
                    "expiresAt": timestamp(token.expires_at), "scope": token.scope})
    resp.headers["Cache-Control"] = "no-store"  # a credential (RFC 6749 5.1)
    return resp, 201


@bp.post("/auth/logout")
@endpoint(resp=Response(HTTP_204=None, **COMMON),
          sessions=False, tags=["authentication"], operation_id="revoke_own_token")
def revoke_own_token():
    """Log out (revoke this token)

    Revokes the token that sent the request, whatever its scope: it answers 401 from now
    on. The owner's other tokens and browser sessions keep working.
    """
    caller = api_caller()
    if caller.token is None:
        resp = error_response(401, "Send the token to revoke: Authorization: Bearer <token>.",
                              "unauthorized")
        resp[0].headers["WWW-Authenticate"] = 'Bearer realm="taskdeck"'
        return resp
    tokens.log_out_token(caller.user, caller.token.id)
    return "", 204


@bp.post("/auth/register")
@endpoint(public=True, json=RegisterRequest, tags=["authentication"],
          operation_id="register",
          resp=Response(HTTP_201=User, HTTP_422=ErrorBody, **PUBLIC_ERRORS))
def register():
    """Register

    Creates an account under the register page's rules and messages (and its limit of
    attempts per address); log in with POST /api/auth/token afterwards.
    """
    body = request.context.json
    with audit.marked_via("api"):
        logins.reserve_registration(request.remote_addr)
        try:
            user = users.create_user(body.username, body.email, body.password, body.name)
        except Invalid as error:
            return invalid(error)
    return jsonify(user_json(user)), 201


@bp.post("/users")
@endpoint(json=UserCreate, scope=WRITE, tags=["users"], operation_id="create_user",
          resp=Response(HTTP_201=User, HTTP_422=ErrorBody, **WRITE_ERRORS))
def create_user():
    """Create user (admins)

    An account made by an admin, under the rules of registration and of the CLI's
    `users create`. Anyone else: 403.
    """
    body = request.context.json
    try:
        user = users.create_account(api_caller().user, body.username, body.email,
                                    body.password, body.name, body.role)
    except Invalid as error:
        return invalid(error)
    resp = jsonify(user_json(user))
    resp.headers["Location"] = f"/api/users/{user.id}"
    return resp, 201


@bp.patch("/users/<int:user_id>")
@endpoint(json=UserChange, scope=WRITE, tags=["users"], operation_id="change_user",
          resp=Response(HTTP_200=User, HTTP_404=ErrorBody, HTTP_409=ErrorBody,
                        HTTP_422=ErrorBody, **WRITE_ERRORS))
def change_user(user_id: int):
    """Change user (admins)

    Change `role` and/or `isActive` together (both or neither). The last active admin
    cannot be demoted or deactivated (409 `last_admin`). Deactivating ends the user's
    browser sessions and revokes their tokens at once. Anyone else: 403.
    """
    body = request.context.json
    try:
        user = users.update_account(api_caller().user, user_id, role=body.role,
                                    active=body.isActive)
    except LastAdmin as error:
        messages = [m for ms in error.field_errors.values() for m in ms]
        return invalid(error, 409, "last_admin", " ".join(messages))
    except Invalid as error:
        return invalid(error)
    return jsonify(user_json(user))
