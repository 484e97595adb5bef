"""Domain errors raised by services; `webapp.errors` turns them into HTTP answers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class of every error a service raises on purpose."""


class NotFound(ServiceError):
    """The object does not exist, or the actor may not know that it exists."""

    def __init__(self, kind: str, ident: Any = None):
        super().__init__(f"{kind} not found")
        self.kind = kind
        self.ident = ident


class Forbidden(ServiceError):
    """The actor may see the object but not perform this action."""

    def __init__(self, action: str, message: str | None = None):
        super().__init__(message or f"not allowed: {action}")
        self.action = action
        self.message = message or "You are not allowed to do that."


class Invalid(ServiceError):
    """Input broke a rule; `field_errors` maps field names to messages."""

    def __init__(self, field_errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in field_errors.items()))
        self.field_errors = field_errors


class LastAdmin(Invalid):
    """The change would leave no active admin (demoting or deactivating the last one). An
    Invalid for the forms, which show its message on the field; the API answers 409."""


class Conflict(ServiceError):
    """The object changed since the actor loaded it (a stale version)."""

    def __init__(self, current: Any, message: str = "This task was changed by someone else."):
        super().__init__(message)
        self.current = current
        self.message = message


class AlreadySubmitted(ServiceError):
    """A form with this submission key was already handled; `result` is what it produced
    (None while the first submission is still being handled)."""

    def __init__(self, result: Any = None, message: str = "This form was already submitted."):
        super().__init__(message)
        self.result = result
        self.message = message


class Throttled(ServiceError):
    """A budget of attempts (logins, password checks, outgoing calls, ...) is used up; the
    caller may try again after `retry_after` seconds. `budget` names the budget."""

    def __init__(self, retry_after: int, message: str, budget: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.message = message
        self.budget = budget


class TooLarge(ServiceError):
    """A file is over the size limit (ATTACHMENT_MAX_BYTES); nothing was stored."""

    def __init__(self, message: str, limit: int):
        super().__init__(message)
        self.message = message
        self.limit = limit


class QuotaExceeded(ServiceError):
    """The upload would take the uploader past their storage quota; nothing was stored."""

    def __init__(self, message: str, used: int, quota: int):
        super().__init__(message)
        self.message = message
        self.used = used
        self.quota = quota


class StorageUnavailable(ServiceError):
    """The attachment storage failed (disk full, S3 unreachable...); nothing was changed."""

    def __init__(self, message: str = "File storage is unavailable right now. "
                 "Nothing was saved; try again in a moment."):
        super().__init__(message)
        self.message = message
