"""Retention: deleting finished motions and the records past their keeping time, a small batch at a time."""

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, or_, select, union
from sqlalchemy.orm import Session

from app.models import (
    FINAL_STATUSES,
    Delivery,
    DeliveryAttempt,
    IdempotencyKey,
    JoggEvent,
    Motion,
    MotionEvent,
    NotificationEvent,
)
from app.models.types import utcnow

log = logging.getLogger(__name__)

UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
AGE = re.compile(r"(\d+)([dhms])")
# A motion's own rows, children first: deleted explicitly, since SQLite may not enforce ON DELETE CASCADE.
MOTION_CHILDREN = (DeliveryAttempt, Delivery, NotificationEvent, MotionEvent)
TABLES = (Motion, *MOTION_CHILDREN, IdempotencyKey, JoggEvent)


def parse_age(text: str) -> timedelta:
    """An age such as 90d, 12h, 30m or 45s; ValueError on anything else."""
    match = AGE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"age {text!r} is not a number followed by d, h, m or s (say 90d)")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def new_counts() -> dict[str, int]:
    """Rows deleted per table, all zero."""
    return dict.fromkeys((model.__tablename__ for model in TABLES), 0)


def purge_motion_batch(session: Session, cutoff: datetime, _now: datetime, batch_size: int, counts: dict) -> bool:
    """Delete the next batch_size finished motions last changed before cutoff, with their rows (not committed).

    Adds what went to `counts`; False when none was left. Queued and processing motions are never touched.
    """
    batch = _doomed_motion_batch(session, cutoff, batch_size)
    for model, deleted in _delete_motions(session, batch).items() if batch else ():
        counts[model.__tablename__] += deleted
    return bool(batch)


def purge_expired_batch(session: Session, cutoff: datetime, now: datetime, batch_size: int, counts: dict) -> bool:
    """Delete up to batch_size rows of each table past retention on their own account (not committed).

    Adds what went to `counts`; False when every table had fewer than batch_size rows left.
    """
    more = False
    for model, condition in _expired(cutoff, now).items():
        deleted = _execute(
            session, delete(model).where(model.id.in_(select(model.id).where(condition).limit(batch_size)))
        )
        counts[model.__tablename__] += deleted
        more = more or deleted >= batch_size
    return more


def count(session: Session, older_than: timedelta, now: datetime | None = None) -> dict:
    """What purge() would delete now, per table, without deleting anything."""
    now = now or utcnow()
    cutoff = now - older_than
    doomed = _doomed_motions(cutoff)
    doomed_deliveries = select(Delivery.id).where(Delivery.motion_id.in_(doomed))
    expired = _expired(cutoff, now)
    # An attempt goes with its motion or past its own keeping: two index lookups whose ids are united, as an OR
    # of the two (one a subquery) made PostgreSQL read every attempt.
    attempts = union(
        select(DeliveryAttempt.id).where(DeliveryAttempt.delivery_id.in_(doomed_deliveries)),
        select(DeliveryAttempt.id).where(expired[DeliveryAttempt]),
    ).subquery()
    sources = {
        Motion: select(Motion.id).where(Motion.id.in_(doomed)).subquery(),
        DeliveryAttempt: attempts,
        Delivery: select(Delivery.id).where(Delivery.motion_id.in_(doomed)).subquery(),
        NotificationEvent: select(NotificationEvent.id).where(NotificationEvent.motion_id.in_(doomed)).subquery(),
        MotionEvent: select(MotionEvent.id).where(MotionEvent.motion_id.in_(doomed)).subquery(),
        IdempotencyKey: select(IdempotencyKey.id).where(expired[IdempotencyKey]).subquery(),
        JoggEvent: select(JoggEvent.id).where(expired[JoggEvent]).subquery(),
    }
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(source))
        for model, source in sources.items()
    }


def _doomed_motions(cutoff: datetime) -> Select:
    """Ids of finished motions last changed before the cutoff."""
    return select(Motion.id).where(Motion.status.in_(FINAL_STATUSES), Motion.updated_at < cutoff)


def _doomed_motion_batch(session: Session, cutoff: datetime, batch_size: int) -> list[str]:
    """The next batch of finished motions to delete, locked so a concurrent retry waits for us or skips."""
    stmt = _doomed_motions(cutoff).order_by(Motion.updated_at).limit(batch_size).with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def _delete_motions(session: Session, ids: list[str]) -> dict:
    """Delete these motions and every row that belongs to them (not committed)."""
    deliveries = select(Delivery.id).where(Delivery.motion_id.in_(ids))
    statements = {
        DeliveryAttempt: delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries)),
        Delivery: delete(Delivery).where(Delivery.motion_id.in_(ids)),
        NotificationEvent: delete(NotificationEvent).where(NotificationEvent.motion_id.in_(ids)),
        MotionEvent: delete(MotionEvent).where(MotionEvent.motion_id.in_(ids)),
        Motion: delete(Motion).where(Motion.id.in_(ids)),
    }
    return {model: _execute(session, stmt) for model, stmt in statements.items()}


def _expired(cutoff: datetime, now: datetime) -> dict:
    """Rows past retention on their own account, whatever their motion's state."""
    return {
        IdempotencyKey: or_(IdempotencyKey.expires_at < now, IdempotencyKey.created_at < cutoff),
        JoggEvent: JoggEvent.received_at < cutoff,
        DeliveryAttempt: DeliveryAttempt.at < cutoff,
    }


def _execute(session: Session, stmt) -> int:
    """Run one bulk delete without syncing the session; returns its row count."""
    return session.execute(stmt, execution_options={"synchronize_session": False}).rowcount or 0
