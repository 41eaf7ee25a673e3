"""The exceptions the client raises: one per problem type the API answers with, each carrying the document."""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from motion_gateway_client.models import Motion

PROBLEM_TYPE = "urn:motion-gateway:problem:"


class MotionGatewayError(Exception):
    """Base of every error this client raises."""


class ApiError(MotionGatewayError):
    """The API answered with an error: `problem` is its application/problem+json document (RFC 9457)."""

    def __init__(self, problem: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        self.problem = problem
        self.headers = dict(headers or {})
        super().__init__(f"{self.status} {self.title}: {self.detail}")

    @property
    def status(self) -> int:
        """The HTTP status code."""
        status = self.problem.get("status")
        return status if isinstance(status, int) else 0

    @property
    def type(self) -> str:
        """The problem type, a stable URN such as urn:motion-gateway:problem:validation, or about:blank."""
        return str(self.problem.get("type") or "about:blank")

    @property
    def title(self) -> str:
        """A short summary of the kind of problem."""
        return str(self.problem.get("title") or "")

    @property
    def detail(self) -> str:
        """What went wrong this time, written for people."""
        return str(self.problem.get("detail") or "")


class BadRequest(ApiError):
    """The request could not be read: malformed JSON (400), too large (413), not JSON (415), wrong method."""


class Unauthorized(ApiError):
    """The API key is missing, unknown or revoked (401)."""


class NotFound(ApiError):
    """No such motion or delivery for this caller, or no such route (404)."""


class Conflict(ApiError):
    """The request clashes with the current state (409)."""


class IllegalTransition(Conflict):
    """The motion's status does not allow this (cancel after submission began, retry unless failed)."""


class ExternalIdTaken(Conflict):
    """The external_id was used before; `motion_id` names the motion that has it."""

    @property
    def motion_id(self) -> str | None:
        """The existing motion with this external_id."""
        value = self.problem.get("motion_id")
        return value if isinstance(value, str) else None


class IdempotencyInFlight(Conflict):
    """A request with the same Idempotency-Key is still being handled (retried by create_motion)."""


class ValidationFailed(ApiError):
    """The request broke a rule (422); `errors` maps each invalid field to its messages."""

    @property
    def errors(self) -> dict[str, list[str]]:
        """Each invalid field and what is wrong with it."""
        raw = self.problem.get("errors")
        if not isinstance(raw, dict):
            return {}
        return {
            str(name): [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
            for name, messages in raw.items()
        }


class IdempotencyMismatch(ValidationFailed):
    """The Idempotency-Key was used before with a different body (422)."""


class QuotaExceeded(ApiError):
    """Too many requests, or the caller's credit quota is used up (429); `retry_after` says when to try again."""

    @property
    def retry_after(self) -> float | None:
        """Seconds until a retry may succeed, from the Retry-After header, if the API sent one."""
        return retry_after_seconds(self.headers.get("retry-after"))


class ServerError(ApiError):
    """The service failed or is unavailable for a moment (5xx); `retry_after` when it said so."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the service asked to wait, from the Retry-After header."""
        return retry_after_seconds(self.headers.get("retry-after"))


class TransportFailed(MotionGatewayError):
    """The service could not be reached (connection refused, timed out, reset), after every retry."""


class UnexpectedResponse(MotionGatewayError):
    """A success response whose body is not the document the API promises."""


class WaitTimedOut(MotionGatewayError, TimeoutError):
    """wait() gave up before the motion reached a final status; `motion` is the last one read."""

    def __init__(self, motion: Motion, timeout: float) -> None:
        self.motion = motion
        super().__init__(f"motion {motion.id} still {motion.status} after {timeout:g} s")


class InvalidCallback(MotionGatewayError, ValueError):
    """A callback that must not be trusted: missing or bad headers, a wrong signature, an old timestamp."""


BY_TYPE: dict[str, type[ApiError]] = {
    "unauthorized": Unauthorized,
    "notfound": NotFound,
    "validation": ValidationFailed,
    "idempotencymismatch": IdempotencyMismatch,
    "illegaltransition": IllegalTransition,
    "externalidtaken": ExternalIdTaken,
    "idempotencyinflight": IdempotencyInFlight,
    "quota-exceeded": QuotaExceeded,
}
BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: QuotaExceeded,
}


def error_class(status: int, problem_type: str) -> type[ApiError]:
    """The exception for a problem: by its type URN first, else by its status."""
    if problem_type.startswith(PROBLEM_TYPE) and problem_type[len(PROBLEM_TYPE) :] in BY_TYPE:
        return BY_TYPE[problem_type[len(PROBLEM_TYPE) :]]
    if status >= 500:
        return ServerError
    return BY_STATUS.get(status, BadRequest)


def problem_document(status: int, reason: str, content: bytes) -> dict[str, Any]:
    """The response's problem+json document, or one made up for a body that is not one (a proxy's HTML page)."""
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict) and isinstance(document.get("status"), int):
        return document
    text = content[:200].decode("utf-8", "replace").strip()
    return {"type": "about:blank", "title": reason or f"HTTP {status}", "status": status, "detail": text}


def error_for(status: int, reason: str, content: bytes, headers: Mapping[str, str]) -> ApiError:
    """The exception that stands for an error response."""
    problem = problem_document(status, reason, content)
    lowered = {key.lower(): value for key, value in headers.items()}
    return error_class(status, str(problem.get("type") or ""))(problem, lowered)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def error_from_problem(problem: dict[str, Any]) -> ApiError:
    """The exception for a problem document given inside a success (a batch item's); its retry_after as header."""
    status = problem.get("status")
    retry_after = problem.get("retry_after")
    headers = {"retry-after": str(retry_after)} if isinstance(retry_after, int | float | str) else {}
    return error_class(status if isinstance(status, int) else 0, str(problem.get("type") or ""))(problem, headers)
