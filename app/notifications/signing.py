"""Standard Webhooks signatures and headers for the callbacks we send to callers."""

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """Return one "v1,<base64>" signature of the body under one ``whsec_`` secret."""
    # The library takes a datetime; an aware UTC one round-trips to the same unix seconds.
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(msg_id=msg_id, timestamp=moment, data=body)


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """Return the webhook-signature value: one signature per secret, space separated, current first."""
    if isinstance(secrets, str) or not secrets:
        # A bare string would be signed character by character; no secret would send an unsigned call.
        raise ValueError("signature_header needs a non-empty sequence of secrets")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Return every header a signed callback carries."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "Content-Type": "application/json",
    }
