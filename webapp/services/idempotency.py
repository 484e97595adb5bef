"""Idempotency-Key for API POSTs: the first answer to a key is kept and replayed for retries.

The database decides between concurrent requests with one key (from any worker or instance):
`claim()` inserts a row under the unique (user_id, key) and commits before the work starts;
the request whose insert fails finds the other's row and replays its answer, or learns that
it is still in progress.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import IdempotentRequest, utcnow
from .errors import Invalid

KEY_MAX = 255
KEPT_FOR = timedelta(hours=24)


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the request as a retry would repeat it (the JSON body in canonical form,
    so key order and spacing do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise Invalid({"Idempotency-Key": [
            f"Send 1 to {KEY_MAX} printable characters (a UUID, for example)."]})
    return key


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: `mine` (go ahead, then complete or release it), or
    another request's row: answered (`status` set) or still in progress."""

    row: IdempotentRequest
    mine: bool

    @property
    def same_request(self) -> bool:
        return self.row.fingerprint == self._fingerprint

    _fingerprint: str = ""


def claim(user_id: int, key: str, request_fingerprint: str) -> Claim:
    """Claim the key for this request, or return the row that holds it (committed)."""
    key = check_key(key)
    _forget_expired(user_id)
    row = IdempotentRequest(user_id=user_id, key=key, fingerprint=request_fingerprint)
    db.session.add(row)
    try:
        db.session.commit()
        return Claim(row, True, request_fingerprint)
    except sa.exc.IntegrityError:
        db.session.rollback()
    held = db.session.scalar(sa.select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))
    if held is None:  # released (a failed first request) between our insert and this read
        return claim(user_id, key, request_fingerprint)
    return Claim(held, False, request_fingerprint)


def reload(row: IdempotentRequest) -> IdempotentRequest | None:
    """The row as stored now (another request may have completed or released it)."""
    db.session.rollback()  # a fresh snapshot
    return db.session.get(IdempotentRequest, row.id, populate_existing=True)


def complete(row: IdempotentRequest, status: int, body: dict, task_id: int | None) -> None:
    """Keep the answer to replay it."""
    row.status, row.body, row.task_id = status, body, task_id
    db.session.commit()


def release(row: IdempotentRequest) -> None:
    """Forget a claim whose request failed (a refused body): the client may fix and retry
    with the same key."""
    db.session.rollback()
    db.session.execute(sa.delete(IdempotentRequest).where(IdempotentRequest.id == row.id))
    db.session.commit()


def _forget_expired(user_id: int) -> None:
    """The user's keys older than KEPT_FOR are free again (and do not pile up)."""
    db.session.execute(sa.delete(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id,
        IdempotentRequest.created_at < utcnow() - KEPT_FOR))
    db.session.commit()
