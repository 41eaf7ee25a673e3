"""Rebuilding lost work from SQL, for the sweep (Redis is a queue that may forget; the rows are the truth)."""

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain import doubt, jogg_events
from app.models import EventState, JoggEvent, Motion, Status
from app.models.types import utcnow

BATCH = 1000


def recover_submissions(session: Session, stuck_after: timedelta, costs: dict, stale_after: float = 30.0) -> int:
    """Return lost dispatches to the pool, and flag submissions stuck past `stuck_after` as uncertain.

    A stuck submission is charged with `costs` (the model's credits), as the clock's in-doubt flag is:
    JoggAI may have accepted its POST, and it charges on accept.
    """
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
            Motion.submit_started_at < now - stuck_after,
            Motion.jogg_motion_id.is_(None),
            Motion.submission_uncertain_at.is_(None),
        )
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for motion in stuck:  # a backstop: the clock's watch flags an interrupted submission within seconds
        doubt.flag(session, motion, f"its submission was still unanswered after {stuck_after.seconds} s", costs=costs)
    return (lost or 0) + len(stuck)


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
