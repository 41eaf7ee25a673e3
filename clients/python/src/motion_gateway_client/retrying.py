"""When a failed request is tried again, and after how long: Retry-After if given, else backoff with jitter."""

from __future__ import annotations

import enum
import logging
import random
from dataclasses import dataclass

import httpx

from motion_gateway_client.errors import PROBLEM_TYPE, problem_document, retry_after_seconds

log = logging.getLogger("motion_gateway_client")
IN_FLIGHT = PROBLEM_TYPE + "idempotencyinflight"
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
# 429 and 503 come before the request was handled; a 502 or 504 from a proxy may come after.
NOT_HANDLED_STATUSES = frozenset({429, 503})


class Safety(enum.Enum):
    """How safe it is to send a request twice."""

    REPEATABLE = "repeatable"  # a read, or a create with its Idempotency-Key: any retryable failure
    ONCE = "once"  # cancel, retry, redeliver: only when the first surely did not reach the handler


@dataclass(frozen=True)
class RetryPolicy:
    """Retry limits: how many retries, the backoff's base and cap, and the longest Retry-After worth waiting."""

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the given retry number (0 for the first)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2**attempt)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret

    def after_error(self, error: httpx.TransportError, attempt: int, safety: Safety) -> float | None:
        """Seconds to wait before retrying after a transport error, or None to give up."""
        if attempt >= self.max_retries:
            return None
        if safety is Safety.ONCE and not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            return None
        return self.backoff(attempt)

    def after_response(self, response: httpx.Response, attempt: int, safety: Safety) -> float | None:
        """Seconds to wait before retrying after an error response, or None to give up (and raise)."""
        if attempt >= self.max_retries or not _retryable(response, safety):
            return None
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is None:
            return self.backoff(attempt)
        return asked if asked <= self.max_retry_after else None


def _retryable(response: httpx.Response, safety: Safety) -> bool:
    """Whether this error response may be retried for a request of this safety."""
    if response.status_code == 409:
        return safety is Safety.REPEATABLE and _problem_type(response) == IN_FLIGHT
    allowed = RETRIED_STATUSES if safety is Safety.REPEATABLE else NOT_HANDLED_STATUSES
    return response.status_code in allowed


def _problem_type(response: httpx.Response) -> str:
    """The type URN of a problem response."""
    return str(problem_document(response.status_code, "", response.content).get("type") or "")


def note_retry(method: str, path: str, attempt: int, delay: float, reason: str) -> None:
    """Log a retry about to happen (INFO on the motion_gateway_client logger; the delay also as retry_delay)."""
    extra = {"retry_delay": delay, "retry_reason": reason, "retry_attempt": attempt + 1}
    log.info("retrying %s %s in %.2f s after %s (retry %d)", method, path, delay, reason, attempt + 1, extra=extra)
