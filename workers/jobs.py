"""RQ job functions; each takes ids, not objects, and is safe to run twice."""

import logging

from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from app.domain import idempotency, outbox
from app.extensions import db
from app.models import OutboxEntry
from app.models.types import utcnow

log = logging.getLogger(__name__)


def run_outbox_entry(entry_id: int) -> None:
    """Do the work an outbox row asks for, once; a repeat finds it done and returns."""
    entry = db.session.scalar(select(OutboxEntry).where(OutboxEntry.id == entry_id).with_for_update())
    if entry is None or entry.done_at is not None:
        db.session.rollback()
        return
    job = get_current_job()
    entry.attempts += 1
    HANDLERS[entry.kind](entry)
    entry.done_at = utcnow()
    db.session.commit()
    log.info("outbox entry done", extra={"job_id": job and job.id, "motion_id": entry.motion_id, "kind": entry.kind})


def _note_dispatch(entry: OutboxEntry) -> None:
    """A motion was queued; JoggAI submission is paced by the dispatcher on the clock."""
    log.info("motion %s queued for dispatch", entry.motion_id)


HANDLERS = {outbox.DISPATCH: _note_dispatch}


def sweep() -> int:
    """One self-healing pass; a Redis lock keeps two clocks' sweeps from overlapping."""
    from workers.sweep import requeue_stale_outbox

    connection = current_app.extensions["redis"]
    with connection.lock("motion-gateway:lock:sweep", timeout=300, blocking=False) as acquired:
        if not acquired:
            log.info("another sweep is running; skipping")
            return 0
        requeued = requeue_stale_outbox(db.session, connection)
        purged = idempotency.purge_expired(db.session)
        db.session.commit()
        log.info("sweep done", extra={"requeued": requeued, "idempotency_keys_purged": purged})
        return requeued
