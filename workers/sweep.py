"""The sweep: rebuild lost work from SQL (Redis is a queue that may forget)."""

import logging
from datetime import timedelta

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import queues
from app.models import Motion, OutboxEntry, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=30)
STUCK_SUBMISSION = timedelta(seconds=queues.JOB_TIMEOUT * 2)
BATCH = 1000


def requeue_stale_outbox(session: Session, connection: redis.Redis) -> int:
    """Enqueue again every outbox row still undone 30 s after it fell due; returns how many."""
    cutoff = utcnow() - STALE_AFTER
    rows = session.execute(
        select(OutboxEntry.id, OutboxEntry.kind)
        .where(OutboxEntry.done_at.is_(None), OutboxEntry.due_at < cutoff)
        .order_by(OutboxEntry.due_at)
        .limit(BATCH)
    ).all()
    session.rollback()
    for entry_id, kind in rows:
        queues.enqueue_entry(connection, entry_id, kind)
    if rows:
        log.info("sweep re-enqueued %d outbox entries", len(rows))
    return len(rows)


def recover_submissions(session: Session) -> int:
    """Return lost dispatches to the pool, and flag submissions stuck past their job timeout as uncertain."""
    now = utcnow()
    lost = session.execute(
        update(Motion)
        .where(
            Motion.status == Status.QUEUED,
            Motion.dispatched_at < now - STALE_AFTER,
            Motion.submit_started_at.is_(None),
        )
        .values(dispatched_at=None)
    ).rowcount
    stuck = session.execute(
        update(Motion)
        .where(
            Motion.status == Status.QUEUED,
            Motion.submit_started_at < now - STUCK_SUBMISSION,
            Motion.jogg_motion_id.is_(None),
            Motion.submission_uncertain_at.is_(None),
        )
        .values(submission_uncertain_at=now, dispatched_at=None)
    ).rowcount
    if stuck:
        log.warning("sweep: %d submissions interrupted after they may have reached JoggAI; not resubmitted", stuck)
    return (lost or 0) + (stuck or 0)
