"""verify_callback: check a callback's Standard Webhooks signature and timestamp, then read its event."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from motion_gateway_client.errors import InvalidCallback
from motion_gateway_client.models import Event, MalformedResource

DEFAULT_TOLERANCE = 300  # seconds a callback's timestamp may be off our clock, either way (the spec's 5 minutes)
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # unix seconds; 12 digits reach the year 33658
MAX_SIGNATURES = 16  # more than rotation ever needs; a longer list is refused before any HMAC is computed


class HeaderSource(Protocol):
    """Anything with items() of header names and values: a dict, Flask's request.headers, httpx.Headers."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def verify_callback(
    headers: HeaderSource,
    body: bytes | str,
    secret: str | Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event:
    """The callback's event if it is signed with the secret (or one of several) and recent; else InvalidCallback.

    Pass the raw body exactly as received. During a rotation the service signs with the new and the old
    secret; either one verifies. A ValueError (not InvalidCallback) means the secret itself is malformed.
    """
    keys = [_key(one) for one in ([secret] if isinstance(secret, str) else secret)]
    if not keys:
        raise ValueError("verify_callback needs a secret")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    found = _webhook_headers(headers)
    msg_id, timestamp, signatures = found["webhook-id"], found["webhook-timestamp"], found["webhook-signature"]
    _check_timestamp(timestamp, time.time() if now is None else now, tolerance)
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
    if not any(hmac.compare_digest(given, wanted) for given in _v1_signatures(signatures) for wanted in expected):
        raise InvalidCallback("no signature matches the secret")
    return _event(raw, msg_id)


def _key(secret: str) -> bytes:
    """The HMAC key of a whsec_ secret (its base64 part)."""
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the callback secret is not a whsec_<base64> secret") from None
    if not key:
        raise ValueError("the callback secret is empty")
    return key


def _webhook_headers(headers: HeaderSource) -> dict[str, str]:
    """The three webhook-* headers, present, ASCII and non-empty."""
    try:
        found = {str(name).lower(): value for name, value in headers.items()}
    except (TypeError, ValueError):
        raise InvalidCallback("headers cannot be read") from None
    result = {}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        value = found.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidCallback(f"missing {name} header")
        if not value.isascii() or not value.isprintable():
            raise InvalidCallback(f"{name} header has unexpected characters")
        result[name] = value.strip()
    return result


def _check_timestamp(timestamp: str, now: float, tolerance: float) -> None:
    """Refuse a timestamp that is not unix seconds, or further from now than the tolerance."""
    if not TIMESTAMP.fullmatch(timestamp):
        raise InvalidCallback("webhook-timestamp is not unix seconds")
    if abs(now - int(timestamp)) > tolerance:
        raise InvalidCallback(f"webhook-timestamp is more than {tolerance:g} s away from now")


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded v1 signatures of a webhook-signature header (other versions and garbled ones skipped)."""
    entries = header.split()
    if len(entries) > MAX_SIGNATURES:
        raise InvalidCallback("webhook-signature has too many signatures")
    signatures = []
    for entry in entries:
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            signatures.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return signatures


def _event(raw: bytes, msg_id: str) -> Event:
    """The verified body as an Event; its id must be the webhook-id."""
    try:
        event = Event.from_dict(json.loads(raw))
    except (ValueError, RecursionError) as exc:  # includes MalformedResource and UnicodeDecodeError
        reason = str(exc) if isinstance(exc, MalformedResource) else "the body is not JSON"
        raise InvalidCallback(f"signed body is not an event: {reason}") from None
    if event.id != msg_id:
        raise InvalidCallback("webhook-id is not the event's id")
    return event
