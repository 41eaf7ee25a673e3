"""Idempotency-Key handling: reserve a key, replay its first response, or refuse a clash."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.errors import IdempotencyInFlight, IdempotencyMismatch
from app.models import IdempotencyKey
from app.models.types import utcnow

# A reservation not finished by then is taken to belong to a crashed request.
ABANDONED_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Replay:
    """The stored first response for a repeated request."""

    status: int
    body: str


def request_hash(body: object) -> str:
    """A fingerprint of a request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def reserve(session: Session, caller_id: int, key: str, fingerprint: str, ttl: timedelta) -> IdempotencyKey | Replay:
    """Claim the key for this request (committing at once), or return the replay of its first response."""
    for _ in range(3):
        existing = _load(session, caller_id, key)
        if existing is None:
            claimed = _try_insert(session, caller_id, key, fingerprint, ttl)
            if claimed is not None:
                return claimed
            continue
        outcome = _judge(session, existing, fingerprint)
        if outcome is not None:
            return outcome
    raise IdempotencyInFlight(f"a request with Idempotency-Key {key!r} is in flight")


def complete(row: IdempotencyKey, motion_id: str, status: int, body: str) -> None:
    """Store the response to replay; committed together with the work it describes."""
    row.motion_id = motion_id
    row.response_status = status
    row.response_body = body


def release(session: Session, row: IdempotencyKey) -> None:
    """Give a key back after the request failed, so that a retry runs again."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
    session.commit()


def purge_expired(session: Session) -> int:
    """Delete keys past their lifetime; returns how many went."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
    return result.rowcount or 0


def _load(session: Session, caller_id: int, key: str) -> IdempotencyKey | None:
    """The stored row for this caller's key, read fresh."""
    stmt = select(IdempotencyKey).where(IdempotencyKey.caller_id == caller_id, IdempotencyKey.key == key)
    return session.scalar(stmt.execution_options(populate_existing=True))


def _try_insert(session: Session, caller_id: int, key: str, fingerprint: str, ttl: timedelta):
    """Insert the reservation; None when a concurrent request won the race."""
    now = utcnow()
    row = IdempotencyKey(
        caller_id=caller_id, key=key, request_hash=fingerprint, locked_at=now, created_at=now, expires_at=now + ttl
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return row


def _judge(session: Session, existing: IdempotencyKey, fingerprint: str) -> IdempotencyKey | Replay | None:
    """Decide what an existing row means for this request; None means try again."""
    now = utcnow()
    if existing.expires_at <= now:
        session.delete(existing)
        session.commit()
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
    session.commit()
    return _load(session, abandoned.caller_id, abandoned.key) if result.rowcount == 1 else None
