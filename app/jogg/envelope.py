"""The one place that reads JoggAI answers: HTTP status, the {code, msg, data, rid} envelope, transport failures."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from app.jogg.errors import (
    BadCredentials,
    BadRequest,
    JoggError,
    NoPermission,
    NoSuchRecord,
    OutOfCredit,
    RateLimited,
    RetryableError,
    UnknownOutcome,
)

RATE_LIMITED = 429
BY_CODE: dict[int, type[JoggError]] = {
    10104: NoSuchRecord,
    10105: BadCredentials,
    18020: OutOfCredit,
    18025: NoPermission,
    40000: BadRequest,
    50000: RetryableError,
}
# When the envelope says 0 (or nothing useful) but the HTTP status says otherwise.
BY_HTTP_STATUS: dict[int, type[JoggError]] = {
    400: BadRequest,
    401: BadCredentials,
    402: OutOfCredit,
    403: NoPermission,
    404: NoSuchRecord,
    422: BadRequest,
}
GATEWAY_TIMEOUT = 504  # the proxy gave up waiting: JoggAI may still have done the work
NOT_TRANSPORT = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


def unwrap(response: requests.Response, operation: str, creates: bool) -> Any:
    """Return the `data` of a successful answer; otherwise raise the JoggError that fits.

    Either signal can carry an error: the HTTP status or the envelope code. `creates` marks a
    POST that may have created something, where an answer we cannot read is an UnknownOutcome.
    """
    envelope = read_envelope(response)
    if envelope is None:
        raise not_an_envelope(response, operation, creates)
    code = int(envelope["code"])
    if code == 0 and 200 <= response.status_code < 300:
        return envelope.get("data")
    raise envelope_error(response, envelope, code, creates)


def read_envelope(response: requests.Response) -> dict[str, Any] | None:
    """The JSON envelope, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not is_int_like(body.get("code")):
        return None
    return body


def is_int_like(value: Any) -> bool:
    """An int, or a string of digits (a lenient reading of `code`)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


def envelope_error(response: requests.Response, envelope: dict[str, Any], code: int, creates: bool) -> JoggError:
    """Map an error envelope to an exception; the code wins, the HTTP status fills in."""
    status = response.status_code
    message = str(envelope.get("msg") or f"JoggAI answered code {code} with HTTP {status}")
    rid = envelope.get("rid") if isinstance(envelope.get("rid"), str) else None
    if code == RATE_LIMITED or (code == 0 and status == RATE_LIMITED):
        return RateLimited(message, code, status, rid, retry_after(response.headers.get("Retry-After")))
    if creates and status == GATEWAY_TIMEOUT:
        return UnknownOutcome(message, code, status, rid)
    kind = BY_CODE.get(code) if code else BY_HTTP_STATUS.get(status)
    if kind is None:
        kind = RetryableError if status >= 500 else JoggError
    return kind(message, code, status, rid)


def not_an_envelope(response: requests.Response, operation: str, creates: bool) -> JoggError:
    """An answer that is not JSON (a proxy's HTML page, an empty body): judge by HTTP status."""
    status = response.status_code
    message = f"{operation}: HTTP {status} answer is not a JoggAI envelope"
    if status == RATE_LIMITED:
        return RateLimited(message, None, status, None, retry_after(response.headers.get("Retry-After")))
    if creates and (200 <= status < 300 or status == GATEWAY_TIMEOUT):
        return UnknownOutcome(message, None, status)
    if 300 <= status < 500:
        return JoggError(message, None, status)  # a redirect or refusal: trying again will not help
    return RetryableError(message, None, status)


def transport_error(error: requests.RequestException, operation: str, creates: bool) -> JoggError:
    """Map a requests failure; only a POST that may have been sent is an UnknownOutcome."""
    detail = f"{type(error).__name__}: {error}"
    if isinstance(error, NOT_TRANSPORT):
        return JoggError(f"{operation}: bad request setup ({detail})")
    if never_sent(error):
        return RetryableError(f"{operation}: could not connect ({detail})")
    if creates:
        return UnknownOutcome(f"{operation}: sent, but no answer came back ({detail})")
    return RetryableError(f"{operation}: no answer ({detail})")


def never_sent(error: requests.RequestException) -> bool:
    """True when the failure happened before any byte of the request left (connect, TLS, proxy)."""
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    if isinstance(error, requests.ConnectionError) and error.args:
        cause = getattr(error.args[0], "reason", error.args[0])  # urllib3 wraps it in MaxRetryError
        return isinstance(cause, NewConnectionError)
    return False


def retry_after(header: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
