"""JoggAI webhooks as they arrive: verifying the signature, reading the body leniently, storing the raw event."""

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import nudges
from app.models import EventState, JoggAccount, JoggEvent
from app.models.types import utcnow

REGISTERED_TTL = 10.0  # seconds; bad signatures never force an earlier read (they would load the database)
SECRETS_CHANGED_KEY = "mg:jogg:webhook-secrets-changed"  # set anew in Redis by `jogg register-webhook`
_registered: tuple[float, str | None, tuple[str, ...]] = (float("-inf"), None, ())
_registered_lock = threading.Lock()
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

HANDLED_EVENTS = frozenset(
    {
        "generated_motion_success",
        "generated_motion_failed",
        "generated_photo_avatar_success",
        "generated_photo_avatar_failed",
    }
)


@dataclass(frozen=True)
class Parsed:
    """What we could read from a verified body: event name, event id, JoggAI's motion id."""

    event: str
    event_id: str
    jogg_motion_id: str | None


def registered_secrets(session: Session, stamp: str | None = None) -> tuple[str, ...]:
    """The secrets `jogg register-webhook` stored, read once per REGISTERED_TTL seconds or when `stamp` changed."""
    global _registered
    with _registered_lock:  # one thread reads; the others wait and use what it read
        read_at, read_stamp, secrets = _registered
        if time.monotonic() - read_at > REGISTERED_TTL or (stamp is not None and stamp != read_stamp):
            account = session.get(JoggAccount, 1)
            stored = (account.webhook_secret, account.previous_webhook_secret) if account else ()
            secrets = tuple(secret for secret in stored if secret)
            _registered = (time.monotonic(), stamp if stamp is not None else read_stamp, secrets)
    return secrets


def verify(
    session: Session, raw: bytes, signature: str | None, configured: tuple[str, ...], stamp: Callable[[], str | None]
) -> bool:
    """Whether a genuine JoggAI webhook: configured secrets, then the registered ones (cached).

    Only when neither matches is `stamp` asked for the secrets' change stamp (one Redis GET): a secret
    registered a moment ago is then read at once, while forged signatures never reach the database.
    """
    if signature_valid(raw, signature, [secret for secret in configured if secret]):
        return True
    if signature_valid(raw, signature, list(registered_secrets(session))):
        return True
    return signature_shape(signature) is not None and signature_valid(
        raw, signature, list(registered_secrets(session, stamp()))
    )


def secrets_stamp(connection) -> str | None:
    """The registered secrets' change stamp from Redis (None when Redis cannot say)."""
    try:
        value = connection.get(SECRETS_CHANGED_KEY)
    except RedisError:  # Redis down: the 10 s cache still brings a new secret in
        return None
    return value.decode() if value else None


def mark_secrets_changed(connection) -> None:
    """Tell every web process that the registered secrets changed (read again on the next unknown signature)."""
    connection.set(SECRETS_CHANGED_KEY, uuid.uuid4().hex)  # a new value each time, even after Redis forgot the last


def signature_valid(raw: bytes, signature: str | None, secrets: list[str]) -> bool:
    """Lowercase hex HMAC-SHA256 of the raw body, compared in constant time against each secret."""
    presented = signature_shape(signature)
    if presented is None:
        return False
    expected = [hmac.new(s.encode(), raw, hashlib.sha256).hexdigest().encode() for s in secrets]
    return any(hmac.compare_digest(candidate, presented) for candidate in expected)


def signature_shape(signature: str | None) -> bytes | None:
    """The signature header as ASCII bytes when it is 64 lowercase hex digits; None for anything else."""
    text = (signature or "").strip()
    return text.encode("ascii") if _SIGNATURE.fullmatch(text) else None


def parse(raw: bytes, header_event: str | None) -> Parsed:
    """Read the body leniently: the motion event's data is undocumented, so look in the likely places."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting too deep for the parser; only the raw body is kept
        body = None
    body = body if isinstance(body, dict) else {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    event = _storable(body.get("event") or header_event)[:100] or "unknown"
    event_id = _storable(body.get("event_id"))[:200] or hashlib.sha256(raw).hexdigest()
    motion = data.get("motion") if isinstance(data.get("motion"), dict) else {}
    jogg_motion_id = data.get("motion_id") or motion.get("motion_id") or motion.get("id") or data.get("id")
    return Parsed(event, event_id, _storable(jogg_motion_id)[:64] or None)


def _storable(value: object) -> str:
    """A parsed field as text PostgreSQL can store: NUL bytes and lone surrogates dropped ('' for nothing)."""
    if not value or isinstance(value, (dict, list)):
        return ""
    text = str(value)[:1000]
    return text.encode("utf-8", "ignore").decode("utf-8").replace("\x00", "")


def store(session: Session, raw: bytes, parsed: Parsed) -> tuple[str, bool]:
    """Insert the raw event, which asks for its processing once committed; a repeat is counted, not stored again.

    Returns the event's state and whether it was a repeat. The caller commits. One `INSERT ... ON CONFLICT DO
    NOTHING`: a repeat, even one racing ours, inserts nothing, and the caller's transaction goes on to count it.
    """
    state = EventState.RECEIVED if parsed.event in HANDLED_EVENTS else EventState.IGNORED
    values = dict(event=parsed.event, event_id=parsed.event_id, jogg_motion_id=parsed.jogg_motion_id, raw_body=raw,
                  state=state)  # fmt: skip
    if state == EventState.IGNORED:
        values.update(outcome="event type not handled", processed_at=utcnow())
    if session.execute(_insert_new(session.get_bind().dialect.name).values(**values)).first() is None:
        return _count_duplicate(session, parsed).state, True
    if state == EventState.RECEIVED:
        nudges.ask_events(session)  # the received row is the work; a job picks it up once committed
    return state, False


def _insert_new(dialect: str):
    """INSERT of an event that does nothing for a repeat (same event and event_id), returning the new row's id."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(JoggEvent.__table__).on_conflict_do_nothing(index_elements=["event", "event_id"])
    return stmt.returning(JoggEvent.__table__.c.id)


def _count_duplicate(session: Session, parsed: Parsed) -> JoggEvent:
    """Note one more delivery of an event we already have (in SQL, so concurrent repeats all count).

    The row is locked only from this UPDATE to its commit; a claim waits that moment out (see `jogg_events.claim`).
    """
    stmt = select(JoggEvent).where(JoggEvent.event == parsed.event, JoggEvent.event_id == parsed.event_id)
    event = session.scalars(stmt).one()
    event.duplicates = JoggEvent.duplicates + 1
    session.flush()
    return event
