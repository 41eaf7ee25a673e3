"""Stored JoggAI webhook events, in a job: claimed with a lease, then settled by the status check each triggers."""

import logging
import time
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app import nudges
from app.config import Settings
from app.database import commit_step, end_reads
from app.domain.tracking import StatusOutcome, adopt_uncertain, apply_status, uncertain_submissions
from app.jogg import JoggClient, JoggError, MotionStatus
from app.models import EventState, JoggEvent, Motion, Source, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)

EVENTS_BATCH = 100
EVENTS_SECONDS = 1.0  # then the job hands over, so its worker can take submissions and callbacks in between
LEASE_MARGIN = 2.0  # seconds a claimed event's lease adds to the longest its processing can take


class EventOutcome(StrEnum):
    """What processing one claimed event did: the state it settled in, or why it was left alone."""

    APPLIED = EventState.APPLIED.value
    IGNORED = EventState.IGNORED.value
    PARKED = EventState.PARKED.value
    NOT_CLAIMED = "not claimed by this job"
    CLAIM_EXPIRED = "claim expired during the status check"


def work_off(session: Session, client: JoggClient, settings: Settings) -> tuple[int, bool]:
    """Settle received events, oldest first, until none is left; returns (how many, whether time ran out).

    Several jobs may run side by side. Each event is claimed with a lease (`claim`) and settled under
    that claim, so no two jobs check the same event. The claim is a committed lease rather than a row
    lock held across the status check: no transaction stays open over an HTTP call, and a killed job's
    claims simply run out (`event_lease`), after which the sweep nudges again. After EVENTS_SECONDS the
    job gives back what it has not started, so a burst never keeps its worker from the submissions and
    callbacks; an event whose status check fails is given back too and left to the sweep.
    """
    owner, deadline, done = uuid.uuid4().hex, time.monotonic() + EVENTS_SECONDS, 0
    try:
        while batch := claim(session, owner, EVENTS_BATCH, event_lease(settings)):
            done += _settle_batch(session, batch, owner, client, settings.poll_intervals, deadline)
            if time.monotonic() > deadline:
                break
    finally:
        release(session, owner)
        commit_step(session)  # step: unsettled claims are given back before any hand-over: the next job finds them
    return done, time.monotonic() > deadline


def _settle_batch(session: Session, batch: list, owner: str, client: JoggClient, intervals, deadline: float) -> int:
    """Settle a claimed batch: what needs no JoggAI call in one commit, then the others one by one to the deadline."""
    settled = settle_locally(session, batch)
    remaining = [event.id for event in batch if event.id not in settled]
    commit_step(session)  # step: the claims are a committed lease, held while the status checks run with no transaction
    done = len(settled)
    for event_pk in remaining:
        try:
            process(session, event_pk, owner, client, intervals)
            commit_step(session)  # step: each event's outcome is committed before the next status check
            done += 1
        except JoggError as exc:
            session.rollback()
            log.warning("JoggAI event %s: status check failed (%s); the sweep will retry it", event_pk, exc)
        if time.monotonic() > deadline:
            break
    return done


def event_lease(settings: Settings) -> timedelta:
    """How long a claim lasts: EVENTS_SECONDS, then one JoggAI call (the status check) at its slowest, a margin."""
    slowest_call = settings.jogg_connect_timeout + settings.jogg_read_timeout
    return timedelta(seconds=EVENTS_SECONDS + slowest_call + LEASE_MARGIN)


def claim(session: Session, owner: str, limit: int, lease: timedelta) -> list[JoggEvent]:
    """Claim for `owner` the oldest received events nobody holds, until it settles them or `lease` runs out.

    The claim is a committed lease (`claimed_by`, `claimed_until`), not a row lock: it holds while
    the status check runs with no transaction open, and a killed worker's claim simply expires. Rows
    are locked only by this statement, in queue order and without SKIP LOCKED: a row that the
    duplicate counter holds for a moment delays the claim rather than hiding the event from it.
    The caller commits (with the events it settles at once).
    """
    now = utcnow()
    free = (JoggEvent.state == EventState.RECEIVED, _unclaimed(now))
    oldest = select(JoggEvent.id).where(*free).order_by(JoggEvent.received_at, JoggEvent.id).limit(limit)
    stmt = (
        update(JoggEvent)
        .where(JoggEvent.id.in_(oldest.with_for_update()), *free)
        .values(claimed_by=owner, claimed_until=now + lease)
        .returning(JoggEvent)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    events = sorted(session.scalars(stmt), key=lambda event: (event.received_at, event.id))
    if not events:
        end_reads(session)  # it changed nothing
    return events


def release(session: Session, owner: str) -> None:
    """Give back the events `owner` claimed but did not settle (a failed status check, a hand-over)."""
    session.rollback()
    mine = (JoggEvent.state == EventState.RECEIVED, JoggEvent.claimed_by == owner)
    session.execute(update(JoggEvent).where(*mine).values(claimed_by=None, claimed_until=None))


def settle_locally(session: Session, events: list[JoggEvent]) -> set[int]:
    """Settle, in this transaction, the events that need no call to JoggAI; returns their ids.

    That is an event without a motion id (ignored), and one for a motion id we do not know while no
    submission is in doubt, so none could be adopted (parked until its motion id appears).
    """
    ids = {event.jogg_motion_id for event in events if event.jogg_motion_id}
    known = set(session.scalars(select(Motion.jogg_motion_id).where(Motion.jogg_motion_id.in_(ids)))) if ids else set()
    adoptable = session.scalar(select(Motion.id).where(*uncertain_submissions()).limit(1)) is not None
    settled = set()
    for event in events:
        if not event.jogg_motion_id:
            _settle(event, EventState.IGNORED, "no motion id in the payload")
        elif event.jogg_motion_id not in known and not adoptable:
            _settle(event, EventState.PARKED, "motion id not known yet", final=False)
        else:
            continue
        settled.add(event.id)
    return settled


def waiting_since(session: Session, before: datetime) -> int:
    """How many unclaimed received events have waited since before `before` (left by a lost nudge or a dead job)."""
    waiting = (JoggEvent.state == EventState.RECEIVED, JoggEvent.received_at < before, _unclaimed(utcnow()))
    stmt = select(func.count()).where(*waiting)
    return session.scalar(stmt) or 0


def process(
    session: Session, event_pk: int, owner: str, client: JoggClient, intervals: tuple[int, ...]
) -> EventOutcome:
    """Apply one event `owner` claimed: find its motion, fetch the status check as the truth, move the motion.

    One status check per event, with no transaction open over it; then, in one transaction, the motion
    is locked (or a motion in doubt it matches is adopted) and the status applied.
    """
    event = session.get(JoggEvent, event_pk, populate_existing=True)
    if event is None or (event.state, event.claimed_by) != (EventState.RECEIVED, owner):
        end_reads(session)
        return EventOutcome.NOT_CLAIMED
    if not event.jogg_motion_id:
        return _finish(session, event, EventState.IGNORED, "no motion id in the payload")
    jogg_motion_id = event.jogg_motion_id
    motion = session.scalar(select(Motion).where(Motion.jogg_motion_id == jogg_motion_id))
    if motion is None and session.scalar(select(Motion.id).where(*uncertain_submissions()).limit(1)) is None:
        return _finish(session, event, EventState.PARKED, "motion id not known yet", final=False)
    if motion is not None and motion.status != Status.PROCESSING:
        return _finish(session, event, EventState.IGNORED, f"motion {motion.id} is already {motion.status}")
    end_reads(session)  # only reads so far: no transaction stays open over the status check
    status = client.motion_status(jogg_motion_id)  # an error leaves the event for the sweep to retry
    if not _still_claimed(session, event_pk, owner):
        end_reads(session)
        return EventOutcome.CLAIM_EXPIRED
    motion = _locked_motion(session, jogg_motion_id, status, intervals)
    if motion is None:
        return _finish(session, event, EventState.PARKED, "motion id not known yet", final=False)
    outcome = apply_status(session, motion, status, Source.WEBHOOK, intervals)
    state = EventState.APPLIED if outcome in (StatusOutcome.COMPLETED, StatusOutcome.FAILED) else EventState.IGNORED
    return _finish(session, event, state, f"motion {motion.id}: {outcome}")


def unpark(session: Session, jogg_motion_id: str) -> int:
    """Motion id now known: put its parked events back to work (in the caller's transaction)."""
    parked = list(
        session.scalars(
            select(JoggEvent.id).where(JoggEvent.jogg_motion_id == jogg_motion_id, JoggEvent.state == EventState.PARKED)
        )
    )
    if parked:
        session.execute(update(JoggEvent).where(JoggEvent.id.in_(parked)).values(state=EventState.RECEIVED))
        nudges.ask_events(session)
    return len(parked)


def _finish(session: Session, event: JoggEvent, state: EventState, outcome: str, final: bool = True) -> EventOutcome:
    """Record what became of an event (the caller commits)."""
    _settle(event, state, outcome, final)
    log.info("JoggAI event %s %s: %s", event.event, event.event_id, outcome)
    return EventOutcome(state)


def _settle(event: JoggEvent, state: str, outcome: str, final: bool = True) -> None:
    """Set what became of an event and end its claim (the caller commits)."""
    event.state, event.outcome, event.attempts = state, outcome[:500], event.attempts + 1
    event.processed_at = utcnow() if final else None
    event.claimed_until = None


def _locked_motion(session: Session, jogg_motion_id: str, status: MotionStatus, intervals) -> Motion | None:
    """The motion with this JoggAI id, locked; else a motion in doubt the status matches, adopted (uncommitted)."""
    stmt = select(Motion).where(Motion.jogg_motion_id == jogg_motion_id).with_for_update()
    motion = session.scalars(stmt.execution_options(populate_existing=True)).first()
    return motion if motion is not None else adopt_uncertain(session, jogg_motion_id, status, intervals)


def _unclaimed(now: datetime):
    """Events no job holds: never claimed, given back, or their claim's lease has run out."""
    return or_(JoggEvent.claimed_until.is_(None), JoggEvent.claimed_until < now)


def _still_claimed(session: Session, event_pk: int, owner: str) -> bool:
    """Whether `owner` still holds the event, now locked until the outcome commits (an outlived lease may be lost)."""
    event = session.get(JoggEvent, event_pk, with_for_update=True, populate_existing=True)
    return event is not None and (event.state, event.claimed_by) == (EventState.RECEIVED, owner)
