"""The sweep: rebuild lost work from SQL (Redis is a queue that may forget)."""

import logging
from datetime import datetime, timedelta

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import queues
from app.domain import doubt, jogg_events, outbox
from app.models import EventState, JoggEvent, Motion, OutboxEntry, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)

STUCK_SUBMISSION = timedelta(seconds=queues.JOB_TIMEOUT * 2)
RECORD_LOST_GRACE = timedelta(seconds=30)  # a submit job's list read and POST take at most 2 x (3 + 10) s
BATCH = 1000


def requeue_stale_outbox(session: Session, connection: redis.Redis, stale_after: float = 30.0) -> int:
    """Enqueue again every outbox row still undone a while (30 s) after it fell due; returns how many."""
    cutoff = utcnow() - timedelta(seconds=stale_after)
    rows = session.execute(
        select(OutboxEntry.id, OutboxEntry.kind)
        .where(OutboxEntry.done_at.is_(None), OutboxEntry.due_at < cutoff)
        .order_by(OutboxEntry.due_at)
        .limit(BATCH)
    ).all()
    session.rollback()
    queues.enqueue_entries(connection, [(entry_id, kind) for entry_id, kind in rows])
    if rows:
        log.info("sweep re-enqueued %d outbox entries", len(rows))
    return len(rows)


def nudge_waiting_events(session: Session, connection: redis.Redis, stale_after: float = 30.0) -> int:
    """Webhook events still received a while (30 s) after arriving (a lost nudge, a failed status check): nudge."""
    waiting = jogg_events.waiting_since(session, utcnow() - timedelta(seconds=stale_after))
    session.rollback()
    if waiting:
        queues.nudge(connection, outbox.NUDGE_EVENTS)
        log.info("sweep: %d webhook events waiting; processing nudged", waiting)
    return waiting


def recover_submissions(session: Session, stale_after: float = 30.0) -> int:
    """Return lost dispatches to the pool, and flag submissions stuck past their job timeout as uncertain."""
    now = utcnow()
    lost_before = now - timedelta(seconds=stale_after)
    lost = session.execute(
        update(Motion)
        .where(
            Motion.status == Status.QUEUED,
            Motion.dispatched_at < lost_before,
            Motion.submit_started_at.is_(None),
        )
        .values(dispatched_at=None)
    ).rowcount
    stuck = session.scalars(
        select(Motion)
        .where(
            Motion.status == Status.QUEUED,
            Motion.submit_started_at < now - STUCK_SUBMISSION,
            Motion.jogg_motion_id.is_(None),
            Motion.submission_uncertain_at.is_(None),
        )
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for motion in stuck:  # a backstop: the clock's watch flags an interrupted submission within seconds
        doubt.flag(session, motion, f"its submission was still unanswered after {STUCK_SUBMISSION.seconds} s")
    return (lost or 0) + len(stuck)


def flag_interrupted_submissions(session: Session, connection: redis.Redis) -> int:
    """Flag, within seconds, submissions whose submit job died between recording the attempt and the answer."""
    candidates = doubt.interrupted(session, utcnow())
    if not candidates:
        session.rollback()
        return 0
    flagged = doubt.flag_interrupted(
        session, candidates, lambda motion_id, at: submit_job_alive(connection, motion_id, at)
    )
    if flagged:
        log.warning("%d submissions interrupted (their job died); now in doubt", flagged)
    return flagged


def submit_job_alive(connection: redis.Redis, motion_id: str, started_at: datetime) -> bool:
    """Whether the motion's submit job is waiting or really running (RQ's record and its worker's heartbeat).

    No record at all means Redis lost it (a finished job is re-read in SQL before anything is flagged), while
    the job itself may still be running: it counts as alive for RECORD_LOST_GRACE, longer than its HTTP calls.
    """
    try:
        job = Job.fetch(f"submit-{motion_id}", connection=connection)
    except NoSuchJobError:
        return utcnow() - started_at < RECORD_LOST_GRACE
    return queues.is_live(job, connection)


def rematch_parked_events(session: Session) -> int:
    """Parked webhook events whose motion id has since appeared go back to work."""
    known = select(Motion.jogg_motion_id).where(Motion.jogg_motion_id.is_not(None))
    ids = session.scalars(
        select(JoggEvent.jogg_motion_id)
        .where(JoggEvent.state == EventState.PARKED, JoggEvent.jogg_motion_id.in_(known))
        .distinct()
        .limit(BATCH)
    ).all()
    return sum(jogg_events.unpark(session, jogg_motion_id) for jogg_motion_id in ids)
