"""Callers: creating them, rotating their credentials, and recognising their API keys."""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, DomainError, NotFound
from app.domain.text import unstorable_reason
from app.models import Caller
from app.models.types import utcnow

API_KEY_PREFIX = "mgw_"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_OVERLAP = timedelta(hours=24)
NAME_LIMIT = 100  # characters: the width of callers.name
# How long a web process may go on recognising a key after it was revoked or rotated (or a quota changed).
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 10_000
_known_keys: dict[str, tuple[float, "KnownCaller"]] = {}
_known_keys_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """What a caller is shown once: its id, API key and callback signing secret."""

    caller_id: int
    name: str
    api_key: str | None
    webhook_secret: str | None


def hash_api_key(api_key: str) -> str:
    """SHA-256 of a key: keys are 256-bit random, so a fast hash is enough and allows an index lookup."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random API key."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    """A fresh Standard Webhooks signing secret (whsec_ + base64 of 24 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def create_caller(session: Session, name: str, callback_url: str | None = None) -> Credentials:
    """Register a caller and return its credentials, the only time the key is visible."""
    if not 0 < len(name) <= NAME_LIMIT or not name.isprintable():
        raise DomainError(f"a caller name is 1 to {NAME_LIMIT} printable characters")
    if session.scalar(select(Caller.id).where(Caller.name == name)) is not None:
        raise Conflict(f"a caller named {name!r} already exists")
    api_key, secret = new_api_key(), new_webhook_secret()
    caller = Caller(
        name=name,
        api_key_hash=hash_api_key(api_key),
        api_key_prefix=api_key[:12],
        default_callback_url=callback_url,
        webhook_secret=secret,
    )
    session.add(caller)
    session.flush()
    return Credentials(caller.id, name, api_key, secret)


def find_by_name(session: Session, name: str) -> Caller:
    """The caller with this name, or NotFound."""
    caller = None if unstorable_reason(name) else session.scalar(select(Caller).where(Caller.name == name))
    if caller is None:
        raise NotFound(f"no caller named {name!r}")
    return caller


def rotate_key(session: Session, name: str) -> Credentials:
    """Replace a caller's API key; the old one stops working at once."""
    caller = find_by_name(session, name)
    api_key = new_api_key()
    caller.api_key_hash = hash_api_key(api_key)
    caller.api_key_prefix = api_key[:12]
    return Credentials(caller.id, name, api_key, None)


def rotate_secret(session: Session, name: str) -> Credentials:
    """Replace a caller's signing secret, keeping the old one valid for the overlap period."""
    caller = find_by_name(session, name)
    caller.previous_webhook_secret = caller.webhook_secret
    caller.previous_secret_expires_at = utcnow() + SECRET_OVERLAP
    caller.webhook_secret = new_webhook_secret()
    return Credentials(caller.id, name, None, caller.webhook_secret)


def disable(session: Session, name: str) -> Caller:
    """Revoke a caller: its key is refused from now on."""
    caller = find_by_name(session, name)
    caller.active = False
    return caller


@dataclass(frozen=True)
class KnownCaller:
    """What a request needs of an authenticated caller, kept for KEY_CACHE_SECONDS without a database read."""

    id: int
    name: str
    default_callback_url: str | None
    quota_credits: int | None
    quota_period: str | None


def authenticate(session: Session, api_key: str) -> KnownCaller | None:
    """The active caller holding this key, or None; a known key is trusted for KEY_CACHE_SECONDS at most.

    Unknown keys are never cached: each costs one indexed lookup.
    """
    digest = hash_api_key(api_key)
    now = time.monotonic()
    cached = _known_keys.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    caller = session.scalar(select(Caller).where(Caller.api_key_hash == digest))
    if caller is None or not hmac.compare_digest(caller.api_key_hash, digest) or not caller.active:
        _known_keys.pop(digest, None)
        return None
    known = KnownCaller(caller.id, caller.name, caller.default_callback_url, caller.quota_credits, caller.quota_period)
    _remember(digest, known, now + KEY_CACHE_SECONDS)
    return known


def forget_keys() -> None:
    """Drop every remembered key (tests; a process that must see a revocation at once)."""
    with _known_keys_lock:
        _known_keys.clear()


def _remember(digest: str, known: KnownCaller, until: float) -> None:
    """Keep a recognised key until `until` (monotonic); a full cache starts over."""
    with _known_keys_lock:
        if len(_known_keys) >= KEY_CACHE_SIZE:
            _known_keys.clear()
        _known_keys[digest] = (until, known)
