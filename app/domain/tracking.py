"""Learning how a submitted motion ends: applying JoggAI's status check, the poll schedule, expiry."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.database import commit_step, end_reads
from app.domain.transitions import transition
from app.jogg import JoggClient, JoggError, MotionStatus
from app.models import Motion, MotionEvent, Source, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)

MIN_POLL_GAP = timedelta(seconds=10)
POLL_TICK = 10_000  # due motions one clock tick enqueues at most (issue 16: 10,000 due in one tick)
POLL_BATCH = 50  # motions one poll job checks at most, one after another
POLL_SECONDS = 1.0  # then the job gives back what it has not started, so its worker can take submissions in between
POLL_LEASE_MARGIN = 2.0  # seconds a poll job's lease adds to the longest its checks can take
LIST_ONLY_WATCH = timedelta(days=1)  # how long a motion completed from JoggAI's list waits to learn its motion id
LIST_ONLY = (
    "unknown: found in JoggAI's photo-avatar list, which gives no motion id; filled in if a webhook or the late "
    "POST answer supplies the motion id"
)
_unknown_seen: set[str] = set()


class StatusOutcome(StrEnum):
    """What a status check (a webhook's or a poll's) did to a motion (the poll job returns and logs it)."""

    COMPLETED = "completed"
    FAILED = "failed"
    RUNNING = "running"
    IGNORED_QUEUED = "ignored (already queued)"  # only a processing motion takes a status
    IGNORED_COMPLETED = "ignored (already completed)"
    IGNORED_FAILED = "ignored (already failed)"
    IGNORED_CANCELLED = "ignored (already cancelled)"
    SKIPPED = "skipped"  # nothing to poll: no longer processing, or no id to ask with
    NOT_HELD = "not held by this job"  # its poll lease is another job's now, or a webhook settled it
    RETRY_LATER = "retry later"  # the check failed: the next poll is pushed back


def next_poll_at(submitted_at: datetime, polls_done: int, intervals: tuple[int, ...], now: datetime) -> datetime:
    """When to poll next: each interval after submission in turn, then the last one repeating; never within 10 s."""
    if polls_done < len(intervals):
        offset = intervals[polls_done]
    else:
        offset = intervals[-1] * (polls_done - len(intervals) + 2)
    return max(submitted_at + timedelta(seconds=offset), now + MIN_POLL_GAP)


def apply_status(session: Session, motion: Motion, status: MotionStatus, source: Source, intervals) -> StatusOutcome:
    """Move a processing motion to where JoggAI says it is; returns completed, failed, running or ignored."""
    if motion.status != Status.PROCESSING:
        return StatusOutcome(f"ignored (already {motion.status})")
    detail = {"jogg_status": status.status}
    if status.is_success():
        motion.preview_url, motion.avatar_id = status.preview_url, status.avatar_id or motion.avatar_id
        if not motion.jogg_motion_id:
            detail["preview_url"] = LIST_ONLY
        motion.next_poll_at = None
        transition(session, motion, Status.COMPLETED, source, detail)
        return StatusOutcome.COMPLETED
    if status.is_failure():
        message = status.error_msg or "JoggAI reported that the motion failed"
        motion.error = {"code": "jogg_failed", "message": message, "jogg_code": None}
        motion.next_poll_at = None
        transition(session, motion, Status.FAILED, source, {**detail, "error": motion.error})
        return StatusOutcome.FAILED
    _note_unknown(status.status)
    return StatusOutcome.RUNNING


def poll(
    session: Session, motion_id: str, client: JoggClient, intervals: tuple[int, ...], held: datetime | None = None
) -> StatusOutcome:
    """Check one due motion with JoggAI and apply the answer (source poll); the caller commits.

    `held` is the end of the poll lease the caller holds on it (`take_due`): a motion whose `next_poll_at`
    is no longer that (another job's lease, a webhook's outcome) is left alone, before and after the check.
    """
    motion = session.get(Motion, motion_id, populate_existing=True)
    if motion is None or motion.status != Status.PROCESSING:
        end_reads(session)
        return StatusOutcome.SKIPPED
    if held is not None and motion.next_poll_at != held:
        end_reads(session)
        return StatusOutcome.NOT_HELD
    jogg_motion_id, listed_as, name = motion.jogg_motion_id, listed_avatar(motion), motion.name
    end_reads(session)  # only reads so far: no transaction stays open over the status check
    if not (jogg_motion_id or listed_as):
        return StatusOutcome.SKIPPED
    try:
        status = client.motion_status(jogg_motion_id) if jogg_motion_id else _status_from_list(client, name, listed_as)
    except JoggError as exc:
        log.warning("poll of %s failed: %s", motion_id, exc)
        return _reschedule(session, motion_id, utcnow() + timedelta(seconds=30), held)
    motion = session.get(Motion, motion_id, with_for_update=True, populate_existing=True)
    if held is not None and motion.status == Status.PROCESSING and motion.next_poll_at != held:
        return StatusOutcome.NOT_HELD  # the lease ran out during the check and another job took the motion
    outcome = apply_status(session, motion, status, Source.POLL, intervals)
    if outcome is StatusOutcome.RUNNING:
        motion.poll_count += 1
        motion.next_poll_at = next_poll_at(motion.submitted_at, motion.poll_count, intervals, utcnow())
    return outcome


@dataclass(frozen=True)
class PollClaim:
    """Motions a poll job holds: their `next_poll_at` is `until`, the end of its lease."""

    motion_ids: list[str]
    until: datetime


def due_polls(session: Session, limit: int = POLL_TICK) -> list[str]:
    """Processing motions whose next poll time has come, oldest due first (one index range, a read)."""
    stmt = (
        select(Motion.id)
        .where(Motion.status == Status.PROCESSING, Motion.next_poll_at <= utcnow())
        .order_by(Motion.next_poll_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def in_batches(motion_ids: list[str], size: int = POLL_BATCH) -> list[list[str]]:
    """Due motions in groups of at most `size`, one poll job each."""
    return [motion_ids[i : i + size] for i in range(0, len(motion_ids), size)]


def take_due(session: Session, motion_ids: list[str], lease: timedelta) -> PollClaim:
    """Hold, for one job, those of the motions still due: their `next_poll_at` moves to the lease's end.

    One UPDATE ... RETURNING, a compare and set on "still due": a second job with the same motions (a job run
    twice, two ticks' jobs) finds them held or polled and takes none; a killed job's lease simply runs out.
    The caller commits.
    """
    until = utcnow() + lease
    if not motion_ids:
        return PollClaim([], until)
    due = (Motion.id.in_(motion_ids), Motion.status == Status.PROCESSING, Motion.next_poll_at <= utcnow())
    stmt = update(Motion).where(*due).values(next_poll_at=until).returning(Motion.id)
    taken = set(session.scalars(stmt.execution_options(synchronize_session=False)))
    return PollClaim([m for m in motion_ids if m in taken], until)


def poll_held(session: Session, held: PollClaim, client: JoggClient, intervals: tuple[int, ...]) -> dict[str, int]:
    """Check the held motions one by one for POLL_SECONDS; returns how many had each outcome.

    Each outcome is committed before the next check. The motions not begun by the deadline, or when a check
    fails, are given back due at once (the next tick finds them); the one whose check failed, and every motion
    of a killed job, stay held until the lease (`poll_lease`) runs out.
    """
    deadline, outcomes, left = time.monotonic() + POLL_SECONDS, {}, list(held.motion_ids)
    try:
        while left and time.monotonic() < deadline:
            outcome = poll(session, left.pop(0), client, intervals, held.until)
            commit_step(session)  # step: each motion's outcome is kept before the next status check
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        give_back(session, PollClaim(left, held.until))
        commit_step(session)  # step: unchecked motions are due again at once, for the next tick
    return outcomes


def poll_lease(settings: Settings) -> timedelta:
    """How long a poll job holds its motions: POLL_SECONDS, then one JoggAI call at its slowest, a margin."""
    slowest_call = settings.jogg_connect_timeout + settings.jogg_read_timeout
    return timedelta(seconds=POLL_SECONDS + slowest_call + POLL_LEASE_MARGIN)


def give_back(session: Session, held: PollClaim) -> None:
    """Make the held motions that still hold this lease due now (the caller commits)."""
    session.rollback()  # after a failure, the failed transaction's changes go; the outcomes committed stay
    if not held.motion_ids:
        return
    mine = (Motion.id.in_(held.motion_ids), Motion.status == Status.PROCESSING, Motion.next_poll_at == held.until)
    stmt = update(Motion).where(*mine).values(next_poll_at=utcnow()).execution_options(synchronize_session=False)
    session.execute(stmt)


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
        transition(session, motion, Status.FAILED, Source.WORKER, {"error": motion.error})
    return len(expired)


def listed_avatar(motion: Motion) -> str | None:
    """The photo-avatar id JoggAI's list showed for a motion we found there without its motion id."""
    claimed = (motion.submission_evidence or {}).get("claimed")
    return str(claimed) if claimed is not None else None


def _status_from_list(client: JoggClient, name: str, avatar_id: str) -> MotionStatus:
    """A motion known only from the photo-avatar list: its entry there, read as a status check."""
    for entry in client.photo_avatars(name):
        if str(entry.avatar_id) == avatar_id:
            return entry.as_status()
    raise JoggError(f"photo avatar {avatar_id} named {name!r} is no longer in JoggAI's list")


def uncertain_submissions() -> tuple:
    """Motions JoggAI may have without our knowing its motion id.

    A queued one whose POST got no answer, or one found in JoggAI's photo-avatar list (processing, or
    completed with its preview URL unknown).
    """
    return (
        Motion.jogg_motion_id.is_(None),
        or_(
            and_(Motion.status == Status.QUEUED, Motion.submit_started_at.is_not(None)),
            Motion.status == Status.PROCESSING,
            and_(Motion.status == Status.COMPLETED, Motion.completed_at > utcnow() - LIST_ONLY_WATCH),
        ),
    )


def adopt_uncertain(session: Session, jogg_motion_id: str, status: MotionStatus, intervals) -> Motion | None:
    """A JoggAI motion we have no id for may be one whose submission answer we lost: match it by its fields.

    `status` is JoggAI's status check, fetched before with no transaction open. A motion found in the
    photo-avatar list matches on its avatar id; one still queued on the request's name, image URL and
    voice (the oldest first). The match is locked, checked again and adopted (the caller commits).
    """
    candidates = session.scalars(select(Motion).where(*uncertain_submissions())).all()
    for motion in sorted(candidates, key=lambda m: (m.status == Status.QUEUED, m.submit_started_at or m.created_at)):
        if _matches(motion, status) and (adopted := _adopt(session, motion.id, jogg_motion_id, status, intervals)):
            return adopted
    return None


def _matches(motion: Motion, status: MotionStatus) -> bool:
    """Whether JoggAI's status check describes this motion."""
    raw = status.raw
    if motion.status != Status.QUEUED:
        return status.avatar_id is not None and listed_avatar(motion) == str(status.avatar_id)
    same_voice = raw.get("voice_id") in (None, motion.voice_id)
    return (raw.get("name"), raw.get("image_url")) == (motion.name, motion.image_url) and same_voice


def _adopt(session: Session, motion_id: str, jogg_motion_id: str, status: MotionStatus, intervals) -> Motion | None:
    """Lock the motion, check it is still in doubt and still matches, and record its JoggAI id (None if not)."""
    stmt = select(Motion).where(Motion.id == motion_id, *uncertain_submissions()).with_for_update()
    motion = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if motion is None or not _matches(motion, status):
        return None  # settled meanwhile (its answer came, or the list or the policy decided)
    motion.jogg_motion_id, motion.avatar_id = jogg_motion_id, status.avatar_id or motion.avatar_id
    motion.submission_uncertain_at = motion.dispatched_at = None
    if motion.status == Status.QUEUED:
        detail = {"jogg_motion_id": jogg_motion_id, "adopted": True, "evidence": "JoggAI's webhook for it"}
        transition(session, motion, Status.PROCESSING, Source.WEBHOOK, detail)
        motion.next_poll_at = next_poll_at(motion.submitted_at, 0, intervals, utcnow())
    elif motion.status == Status.COMPLETED:
        learn_preview(session, motion, status, Source.WEBHOOK)
    session.flush()
    log.warning("motion %s: unknown submission outcome resolved, JoggAI has it as %s", motion.id, jogg_motion_id)
    return motion


def fill_preview(session: Session, motion_id: str, client: JoggClient) -> None:
    """A motion completed from JoggAI's list whose motion id just came: its preview URL from one status check.

    Ends the caller's transaction before the check (commit first what must be kept); the caller commits after.
    """
    motion = session.get(Motion, motion_id, populate_existing=True)
    wanted = motion is not None and motion.status == Status.COMPLETED and motion.jogg_motion_id
    jogg_motion_id = motion.jogg_motion_id if wanted and not motion.preview_url else None
    end_reads(session)  # no transaction open over the status check
    if jogg_motion_id is None:
        return
    try:
        status = client.motion_status(jogg_motion_id)
    except JoggError as exc:
        log.warning("preview URL of %s not learned: %s", motion_id, exc)
        return
    learn_preview(
        session, session.get(Motion, motion_id, with_for_update=True, populate_existing=True), status, Source.WORKER
    )


def learn_preview(session: Session, motion: Motion, status: MotionStatus, source: Source) -> None:
    """A motion completed from JoggAI's list gets its motion id later: fill in its preview URL, no second event."""
    if motion.status != Status.COMPLETED or motion.preview_url or not status.preview_url:
        return
    motion.preview_url = status.preview_url
    row = MotionEvent(motion_id=motion.id, from_status=motion.status, to_status=motion.status, source=source)
    row.detail = {"action": "preview URL learned", "jogg_motion_id": motion.jogg_motion_id}
    session.add(row)


def _reschedule(session: Session, motion_id: str, when: datetime, held: datetime | None) -> StatusOutcome:
    """Push a motion's next poll back after a failed check, unless another job took it (the caller commits)."""
    motion = session.get(Motion, motion_id, with_for_update=True, populate_existing=True)
    if held is not None and motion.next_poll_at != held:
        return StatusOutcome.NOT_HELD
    motion.next_poll_at = when
    return StatusOutcome.RETRY_LATER


def _note_unknown(status: str) -> None:
    """Log a status we do not know once per process; it counts as still running."""
    known = {"pending", "processing", "queued", "running", ""}
    if status not in known and status not in _unknown_seen:
        _unknown_seen.add(status)
        log.warning("JoggAI status %r is not known; treating it as still running", status)
