"""The one way Taskdeck talks to outside services: short timeouts, bounded retries, clear errors.

Every failure becomes a `FetchError` with a short reason a person can read, so callers never
see a `requests` exception and never answer 500 because a service misbehaved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ...extensions import cache
from ...models import utcnow

USER_AGENT = "Taskdeck/0.1 (task enrichment)"
# A service that said "rate limited" is not asked again before its reset time (at most this).
MAX_BLOCK_SECONDS = 3600


class FetchError(Exception):
    """The service gave no usable answer; the enrichment is "unavailable" for `reason`."""

    status = "unavailable"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotFoundError(FetchError):
    """The service answered that the thing asked about does not exist."""

    status = "not_found"


class RateLimited(FetchError):
    """The service refused because our quota is used up, until `retry_at` (naive UTC)."""

    def __init__(self, service: str, retry_at: datetime):
        super().__init__(f"{service} rate limit reached; unavailable until "
                         f"{retry_at:%Y-%m-%d %H:%M} UTC")
        self.retry_at = retry_at


def make_session(retries: int, backoff: float) -> requests.Session:
    """A Session that retries idempotent GETs answered 502/503/504, with backoff.

    Connection and read errors are not retried (read=False re-raises them, so a timeout stays
    a timeout): a slow or absent service would only make the wait longer.
    """
    retry = Retry(
        total=retries, connect=0, read=False, other=0, status=retries,
        allowed_methods=frozenset({"GET"}), status_forcelist=(502, 503, 504),
        backoff_factor=backoff, raise_on_status=False, respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def get_json(service: str, url: str, *, params: dict | None = None,
             headers: dict | None = None, not_found: str = "not found") -> dict[str, Any]:
    """GET a JSON object from an outside service, or raise FetchError with a short reason."""
    blocked_until = cache_get(_block_key(service))
    if blocked_until:
        raise RateLimited(service, datetime.fromisoformat(blocked_until))
    config = current_app.config
    timeout = (config["ENRICHMENT_CONNECT_TIMEOUT"], config["ENRICHMENT_READ_TIMEOUT"])
    with make_session(config["ENRICHMENT_RETRIES"], config["ENRICHMENT_RETRY_BACKOFF"]) as session:
        try:
            resp = session.get(url, params=params, headers=headers, timeout=timeout)
        except requests.Timeout:
            raise FetchError(f"{service} did not answer in time") from None
        except requests.ConnectionError:
            raise FetchError(f"{service} could not be reached") from None
        except requests.RequestException:
            raise FetchError(f"{service} could not be asked") from None
        retry_at = rate_limit_reset(resp)
        if retry_at is not None:
            seconds = min(MAX_BLOCK_SECONDS, max(1, int((retry_at - utcnow()).total_seconds())))
            cache_set(_block_key(service), retry_at.isoformat(), seconds)
            raise RateLimited(service, retry_at)
        if resp.status_code == 404:
            raise NotFoundError(not_found)
        if not resp.ok:
            raise FetchError(f"{service} answered {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            body = None
    if not isinstance(body, dict):
        raise FetchError(f"{service} sent an unexpected answer")
    return body


def rate_limit_reset(resp: requests.Response) -> datetime | None:
    """When a 403/429 answer says the quota is used up, the time it resets (naive UTC)."""
    if resp.status_code not in (403, 429):
        return None
    remaining = resp.headers.get("X-RateLimit-Remaining")
    retry_after = resp.headers.get("Retry-After", "")
    if resp.status_code == 403 and remaining != "0" and not retry_after:
        return None  # a plain "forbidden", not a quota
    reset = resp.headers.get("X-RateLimit-Reset", "")
    if reset.isdigit() and len(reset) < 12:
        return datetime.fromtimestamp(int(reset), UTC).replace(tzinfo=None)
    if retry_after.isdigit() and len(retry_after) < 8:
        return utcnow() + timedelta(seconds=int(retry_after))
    return utcnow() + timedelta(minutes=1)


def _block_key(service: str) -> str:
    return f"enrichment:rate-limited:{service}"


def cache_get(key: str) -> Any:
    """Read the shared cache; a cache that is down counts as a miss, never as an error."""
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 (Redis down must not break a page)
        current_app.logger.warning("cache read failed for %s", key, exc_info=True)
        return None


def cache_set(key: str, value: Any, seconds: int) -> None:
    """Write the shared cache; a failure is logged and otherwise ignored."""
    try:
        cache.set(key, value, timeout=seconds)
    except Exception:  # noqa: BLE001
        current_app.logger.warning("cache write failed for %s", key, exc_info=True)
