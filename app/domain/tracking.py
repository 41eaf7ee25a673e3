"""Learning how a submitted motion ends: applying JoggAI's status check, the poll schedule, expiry."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain.transitions import transition
from app.jogg import JoggClient, JoggError, MotionStatus
from app.models import Motion, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)

MIN_POLL_GAP = timedelta(seconds=10)
_unknown_seen: set[str] = set()


def next_poll_at(submitted_at: datetime, polls_done: int, intervals: tuple[int, ...], now: datetime) -> datetime:
    """When to poll next: each interval after submission in turn, then the last one repeating; never within 10 s."""
    if polls_done < len(intervals):
        offset = intervals[polls_done]
    else:
        offset = intervals[-1] * (polls_done - len(intervals) + 2)
    return max(submitted_at + timedelta(seconds=offset), now + MIN_POLL_GAP)


def apply_status(session: Session, motion: Motion, status: MotionStatus, source: str, intervals) -> str:
    """Move a processing motion to where JoggAI says it is; returns completed, failed, running or ignored."""
    if motion.status != Status.PROCESSING:
        return f"ignored (already {motion.status})"
    detail = {"jogg_status": status.status}
    if status.is_success():
        motion.preview_url, motion.avatar_id = status.preview_url, status.avatar_id or motion.avatar_id
        motion.next_poll_at = None
        transition(session, motion, Status.COMPLETED, source, detail)
        return "completed"
    if status.is_failure():
        message = status.error_msg or "JoggAI reported that the motion failed"
        motion.error = {"code": "jogg_failed", "message": message, "jogg_code": None}
        motion.next_poll_at = None
        transition(session, motion, Status.FAILED, source, {**detail, "error": motion.error})
        return "failed"
    _note_unknown(status.status)
    return "running"


def poll(session: Session, motion_id: str, client: JoggClient, intervals: tuple[int, ...]) -> str:
    """Check one due motion with JoggAI and apply the answer (source poll)."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    if motion is None or motion.status != Status.PROCESSING or not motion.jogg_motion_id:
        session.rollback()
        return "skipped"
    try:
        status = client.motion_status(motion.jogg_motion_id)
    except JoggError as exc:
        log.warning("poll of %s failed: %s", motion_id, exc)
        return _reschedule(session, motion_id, utcnow() + timedelta(seconds=30))
    motion = session.get(Motion, motion_id, with_for_update=True, populate_existing=True)
    outcome = apply_status(session, motion, status, "poll", intervals)
    if outcome == "running":
        motion.poll_count += 1
        motion.next_poll_at = next_poll_at(motion.submitted_at, motion.poll_count, intervals, utcnow())
    session.commit()
    return outcome


def due_polls(session: Session, limit: int = 1000) -> list[str]:
    """Processing motions whose next poll time has come, oldest due first."""
    stmt = (
        select(Motion.id)
        .where(Motion.status == Status.PROCESSING, Motion.next_poll_at <= utcnow())
        .order_by(Motion.next_poll_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def expire_old(session: Session, max_age: int, limit: int = 1000) -> int:
    """Fail motions JoggAI has (or may have) but that are still unfinished after the maximum age.

    Motions merely waiting for a submission slot (a pause, a backlog) stay queued: they have cost nothing yet.
    """
    cutoff = utcnow() - timedelta(seconds=max_age)
    submitted = or_(Motion.status == Status.PROCESSING, Motion.submission_uncertain_at.is_not(None))
    stmt = (
        select(Motion)
        .where(Motion.status.in_((Status.QUEUED, Status.PROCESSING)), submitted, Motion.created_at < cutoff)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired = list(session.scalars(stmt))
    for motion in expired:
        motion.error = {
            "code": "motion_expired",
            "message": f"not finished within {max_age} s of being accepted",
            "jogg_code": None,
        }
        motion.next_poll_at = None
        transition(session, motion, Status.FAILED, "worker", {"error": motion.error})
    return len(expired)


def uncertain_submissions() -> tuple:
    """Motions whose POST may have reached JoggAI without us learning its motion id."""
    return (Motion.status == Status.QUEUED, Motion.jogg_motion_id.is_(None), Motion.submit_started_at.is_not(None))


def adopt_uncertain(session: Session, jogg_motion_id: str, client: JoggClient, intervals) -> Motion | None:
    """A JoggAI motion we have no id for may be one whose submission answer we lost: match it by its fields."""
    candidates = session.scalars(select(Motion).where(*uncertain_submissions())).all()
    if not candidates:
        return None
    try:
        status = client.motion_status(jogg_motion_id)
    except JoggError:
        return None
    raw = status.raw
    for motion in sorted(candidates, key=lambda m: m.submit_started_at):
        if (raw.get("name"), raw.get("image_url")) == (motion.name, motion.image_url):
            return _adopt(session, motion, jogg_motion_id, status, intervals)
    return None


def _adopt(session: Session, motion: Motion, jogg_motion_id: str, status: MotionStatus, intervals) -> Motion:
    """Record the JoggAI id of a motion whose submission outcome was unknown, and move it to processing."""
    motion.jogg_motion_id, motion.avatar_id = jogg_motion_id, status.avatar_id
    motion.submission_uncertain_at = motion.dispatched_at = None
    transition(session, motion, Status.PROCESSING, "webhook", {"jogg_motion_id": jogg_motion_id, "adopted": True})
    motion.next_poll_at = next_poll_at(motion.submitted_at, 0, intervals, utcnow())
    session.flush()
    log.warning("motion %s: unknown submission outcome resolved, JoggAI has it as %s", motion.id, jogg_motion_id)
    return motion


def _reschedule(session: Session, motion_id: str, when: datetime) -> str:
    """Push a motion's next poll back after a failed check."""
    motion = session.get(Motion, motion_id, with_for_update=True)
    motion.next_poll_at = when
    session.commit()
    return "retry later"


def _note_unknown(status: str) -> None:
    """Log a status we do not know once per process; it counts as still running."""
    known = {"pending", "processing", "queued", "running", ""}
    if status not in known and status not in _unknown_seen:
        _unknown_seen.add(status)
        log.warning("JoggAI status %r is not known; treating it as still running", status)
