"""Idempotency-Key handling: claim a key, replay its first response, or refuse a clash; the caller commits."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.domain.errors import IdempotencyInFlight, IdempotencyMismatch
from app.models import IdempotencyKey
from app.models.types import utcnow

# A reservation not finished by then is taken to belong to a crashed request.
ABANDONED_AFTER = timedelta(seconds=60)
CLAIM_TRIES = 3  # an expired row, a lost race or a lost take-over each cost one


@dataclass(frozen=True)
class Replay:
    """The stored first response for a repeated request."""

    status: int
    body: str


def request_hash(body: object) -> str:
    """A fingerprint of a request body that ignores key order and whitespace.

    A lone surrogate (a batch item refused for it still belongs to the body) is hashed as its own bytes.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


Claim = IdempotencyKey | Replay | None


def claim(session: Session, caller_id: int, key: str, fingerprint: str, ttl: timedelta) -> Claim:
    """One try at the key (flushed, not committed): our reservation, the replay of its first response, or None.

    None means look again (an expired row was deleted, or an abandoned one was taken by another
    request). Raises IdempotencyMismatch or IdempotencyInFlight, and IntegrityError at the flush
    when a concurrent request inserted the same key first (look again after rolling back).
    """
    existing = _load(session, caller_id, key)
    if existing is None:
        return _insert(session, caller_id, key, fingerprint, ttl)
    return _judge(session, existing, fingerprint)


def in_flight(key: str) -> IdempotencyInFlight:
    """The refusal for a key still contested after CLAIM_TRIES tries."""
    return IdempotencyInFlight(f"a request with Idempotency-Key {key!r} is in flight")


def complete(row: IdempotencyKey, motion_id: str, status: int, body: str) -> None:
    """Store the response to replay, in the transaction of the work it describes."""
    row.motion_id = motion_id
    row.response_status = status
    row.response_body = body


def release(session: Session, row: IdempotencyKey) -> None:
    """Give a key back after the request failed, so that a retry runs again (flushed, not committed)."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))


def purge_expired(session: Session) -> int:
    """Delete keys past their lifetime; returns how many went."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
    return result.rowcount or 0


def _load(session: Session, caller_id: int, key: str) -> IdempotencyKey | None:
    """The stored row for this caller's key, read fresh."""
    stmt = select(IdempotencyKey).where(IdempotencyKey.caller_id == caller_id, IdempotencyKey.key == key)
    return session.scalar(stmt.execution_options(populate_existing=True))


def _insert(session: Session, caller_id: int, key: str, fingerprint: str, ttl: timedelta) -> IdempotencyKey:
    """Add and flush our reservation; a concurrent one with the same key makes the flush raise IntegrityError."""
    now = utcnow()
    row = IdempotencyKey(
        caller_id=caller_id, key=key, request_hash=fingerprint, locked_at=now, created_at=now, expires_at=now + ttl
    )
    session.add(row)
    session.flush()
    return row


def _judge(session: Session, existing: IdempotencyKey, fingerprint: str) -> IdempotencyKey | Replay | None:
    """Decide what an existing row means for this request; None means try again."""
    now = utcnow()
    if existing.expires_at <= now:
        session.delete(existing)
        session.flush()
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyMismatch(f"Idempotency-Key {existing.key!r} was already used with a different request body")
    if not existing.in_flight:
        return Replay(existing.response_status, existing.response_body)
    if now - existing.locked_at < ABANDONED_AFTER:
        raise IdempotencyInFlight(f"the first request with Idempotency-Key {existing.key!r} is still in flight")
    return _take_over(session, existing, now)


def _take_over(session: Session, abandoned: IdempotencyKey, now) -> IdempotencyKey | None:
    """Claim an abandoned reservation; the conditional update lets only one request win."""
    result = session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == abandoned.id, IdempotencyKey.locked_at == abandoned.locked_at)
        .values(locked_at=now)
    )
    return _load(session, abandoned.caller_id, abandoned.key) if result.rowcount == 1 else None
