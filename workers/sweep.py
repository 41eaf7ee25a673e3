"""The sweep: rebuild lost work from SQL (Redis is a queue that may forget)."""

import logging
from datetime import timedelta

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import queues
from app.models import OutboxEntry
from app.models.types import utcnow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=30)
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
