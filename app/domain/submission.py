"""Submitting one motion to JoggAI: record the attempt first, never POST twice blindly, act on every error code."""

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.budget import PostBudget, Slot
from app.database import commit_step, end_reads
from app.domain import account as accounts
from app.domain import charges, doubt, jogg_events, tracking
from app.domain import dispatch as dispatcher
from app.domain.transitions import transition
from app.jogg import (
    AddMotionResult,
    BadCredentials,
    BadRequest,
    JoggClient,
    JoggError,
    NoPermission,
    OutOfCredit,
    RateLimited,
    RetryableError,
    UnknownOutcome,
)
from app.models import Motion, Source, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)


class SubmitOutcome(StrEnum):
    """What a submission did (the submit job returns and logs it; a metrics label)."""

    SUBMITTED = "submitted"
    SKIPPED = "skipped"  # not due a POST, or another job holds it
    DEFERRED = "deferred"  # the account is blocked, or no slot was free
    UNCERTAIN = "uncertain"  # the answer was lost: app.domain.doubt decides
    ALREADY_ADOPTED = "already adopted"  # its webhook (or JoggAI's list) was faster than our answer
    ALREADY_SETTLED = "already settled"
    RATE_LIMITED = "rate_limited"
    PAUSED = "paused"
    RETRYING = "retrying"
    FAILED = "failed"


PAYLOAD_FIELDS = ("image_url", "name", "voice_id", "model", "photo_id", "description", "welcome_msg")


@dataclass(frozen=True)
class Policy:
    """The numbers submission follows (from settings)."""

    max_attempts: int
    retry_base: float
    first_poll: float
    probe_interval: float
    window_seconds: float
    credit_costs: dict[str, int] = field(default_factory=dict)  # JOGG_CREDIT_COSTS; empty: nothing is charged


@dataclass(frozen=True)
class Attempt:
    """A recorded attempt: when it began and what to POST."""

    started: datetime
    payload: dict


def submit(
    session: Session, motion_id: str, client: JoggClient, budget: PostBudget, policy: Policy, slot_wait: float = 0.0
) -> SubmitOutcome:
    """Submit the motion if it is still due; returns what happened, for logs and tests (the caller commits).

    The POST slot comes first (waiting up to `slot_wait` for the instant one frees: the dispatcher hands a slot
    out a little before it frees), then the record of the attempt, then the POST; the slot is dated by the answer.
    """
    list_before, dispatched_at = _list_before(session, motion_id, client)
    lag = (utcnow() - dispatched_at).total_seconds() if dispatched_at else None  # the dispatcher's lead follows it
    slot = budget.acquire(slot_wait, lag)
    if slot is None:
        return _undispatch(session, motion_id)
    try:
        attempt = begin(session, motion_id, list_before, policy.credit_costs)
        commit_step(session)  # step: the attempt is recorded before the POST: a lost answer is never POSTed blindly
    except BaseException:
        budget.release(slot)  # nothing is sent
        raise
    if isinstance(attempt, SubmitOutcome):
        budget.release(slot)  # nothing is sent
        return attempt
    try:
        result = _post(client, attempt.payload, budget, slot)
    except UnknownOutcome as exc:  # what JoggAI's list shows right now closes this attempt's window
        return _on_error(session, motion_id, exc, policy, doubt.avatar_ids(client, attempt.payload["name"]))
    except JoggError as exc:  # JoggAI answered with an error: it did not accept the POST, so it charged nothing
        return _on_error(session, motion_id, exc, policy)
    outcome = _on_accepted(session, motion_id, result, policy)
    if outcome is SubmitOutcome.ALREADY_ADOPTED:
        commit_step(session)  # step: JoggAI's answer is kept before the preview's status check (none over HTTP)
        tracking.fill_preview(session, motion_id, client)
    return outcome


def begin(
    session: Session, motion_id: str, list_before: list | None, costs: dict | None = None
) -> Attempt | SubmitOutcome:
    """Record an attempt on a motion still due a POST (uncommitted), or say why there is none."""
    started = utcnow()
    payload = _record_attempt(session, motion_id, started, list_before)
    if payload is not None:
        return Attempt(started, payload)
    motion = _lock(session, motion_id)  # not due, or the account stopped POSTs meanwhile: find out which
    if motion is None:  # locked a moment (intake attaching a reuse copy to it): hand it back, not left dispatched
        return _undispatch(session, motion_id)  # waits for that lock; a no-op if another job began meanwhile
    if motion.status != Status.QUEUED or motion.jogg_motion_id:
        return SubmitOutcome.SKIPPED
    if motion.submit_started_at is not None:
        why = "an earlier attempt was interrupted after it may have reached JoggAI"
        return _mark_uncertain(session, motion, why, costs=costs)
    if accounts.blocked_by(accounts.peek(session), utcnow()):
        motion.dispatched_at = None
        return SubmitOutcome.DEFERRED
    started = utcnow()  # due after all (the account resumed between the two reads): the same record, under our lock
    payload = _record_attempt(session, motion_id, started, list_before)
    return Attempt(started, payload) if payload is not None else SubmitOutcome.SKIPPED


def _record_attempt(session: Session, motion_id: str, started: datetime, list_before: list | None) -> dict | None:
    """The usual case in one statement: the attempt recorded on a motion due a POST, its payload returned; else None.

    Due: queued, not begun, no JoggAI id, the account not stopping POSTs. A row another transaction holds is
    skipped, as `_lock` skips it: `begin` then hands the motion back.
    """
    unlocked = select(Motion.id).where(Motion.id == motion_id).with_for_update(skip_locked=True).scalar_subquery()
    stmt = (
        update(Motion)
        .where(Motion.id == unlocked, Motion.status == Status.QUEUED, Motion.jogg_motion_id.is_(None))
        .where(Motion.submit_started_at.is_(None), ~accounts.blocking(started))
        .values(submit_started_at=started, submit_attempts=Motion.submit_attempts + 1)
        .values(submission_evidence={"list_before": list_before})
        .returning(*(getattr(Motion, name) for name in PAYLOAD_FIELDS))
        .execution_options(synchronize_session=False)
    )
    row = session.execute(stmt).first()
    return dict(zip(PAYLOAD_FIELDS, row, strict=True)) if row else None


def _list_before(session: Session, motion_id: str, client: JoggClient) -> tuple[list | None, datetime | None]:
    """What JoggAI's photo-avatar list shows for the motion's name before its POST (no transaction held meanwhile),
    and when the motion was dispatched.

    Read only when the motion is due a POST (queued, not begun, the account not blocked): a GET costs nothing
    in credits but counts against JoggAI's rate limit, so a skipped or deferred submission spends none.
    """
    motion = session.get(Motion, motion_id, populate_existing=True)
    due = motion is not None and motion.status == Status.QUEUED and not motion.jogg_motion_id
    due = due and motion.submit_started_at is None and not accounts.blocked_by(accounts.peek(session), utcnow())
    name, dispatched_at = (motion.name, motion.dispatched_at) if due else (None, None)
    end_reads(session)
    return (doubt.avatar_ids(client, name) if name else None), dispatched_at


def _post(client: JoggClient, payload: dict, budget: PostBudget, slot: Slot) -> AddMotionResult:
    """POST the motion, then date its slot by the answer (or the error): JoggAI counted the POST before that."""
    try:
        return client.add_motion(**payload)
    finally:
        budget.settle(slot)


def _undispatch(session: Session, motion_id: str) -> SubmitOutcome:
    """No slot came free in time: nothing was recorded or sent, so hand the motion back to the dispatcher.

    Held back briefly (dispatcher.HAND_BACK_HOLD), so it is not dispatched again while this job is still ending.
    """
    session.execute(
        update(Motion)
        .where(Motion.id == motion_id, Motion.submit_started_at.is_(None), Motion.jogg_motion_id.is_(None))
        .values(dispatched_at=None, next_submit_at=utcnow() + dispatcher.HAND_BACK_HOLD)
    )
    return SubmitOutcome.DEFERRED


def _lock(session: Session, motion_id: str) -> Motion | None:
    """The motion, locked for this transaction (None if another job holds it)."""
    stmt = select(Motion).where(Motion.id == motion_id).with_for_update(skip_locked=True)
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def _on_accepted(session: Session, motion_id: str, result: AddMotionResult, policy: Policy) -> SubmitOutcome:
    """JoggAI took it: store its id and move the motion to processing."""
    motion = session.get(Motion, motion_id, with_for_update=True, populate_existing=True)
    charges.charge(session, motion, policy.credit_costs)  # JoggAI accepted it: it charged the credits now
    if motion.status != Status.QUEUED:  # its webhook (or JoggAI's list) was faster than our answer
        if motion.jogg_motion_id is None and motion.status in (Status.PROCESSING, Status.COMPLETED):
            motion.jogg_motion_id = result.motion_id  # found in the list: now its id (a completed one's preview next)
        elif motion.jogg_motion_id != result.motion_id:
            log.warning("motion %s is %s as %s, yet JoggAI also answered %s", motion_id, motion.status,
                        motion.jogg_motion_id, result.motion_id)  # fmt: skip
        return SubmitOutcome.ALREADY_ADOPTED
    motion.jogg_motion_id = result.motion_id
    motion.avatar_id = result.avatar_id or motion.avatar_id
    motion.dispatched_at = motion.submission_uncertain_at = None
    motion.next_poll_at = utcnow() + timedelta(seconds=policy.first_poll)
    detail = {"jogg_motion_id": result.motion_id, "attempt": motion.submit_attempts}
    transition(session, motion, Status.PROCESSING, Source.WORKER, detail)
    jogg_events.unpark(session, result.motion_id)  # a webhook may have beaten this commit
    log.info("motion %s accepted by JoggAI as %s", motion_id, result.motion_id)
    return SubmitOutcome.SUBMITTED


def _on_error(
    session: Session, motion_id: str, exc: JoggError, policy: Policy, list_after: list | None = None
) -> SubmitOutcome:
    """Decide by the kind of failure what happens to the motion and to submissions."""
    motion = session.get(Motion, motion_id, with_for_update=True, populate_existing=True)
    if motion.status != Status.QUEUED or motion.jogg_motion_id:  # settled meanwhile (adopted by its webhook)
        return SubmitOutcome.ALREADY_SETTLED
    motion.dispatched_at = None
    if isinstance(exc, UnknownOutcome):
        return _mark_uncertain(session, motion, str(exc), list_after, policy.credit_costs)
    motion.submit_started_at = None  # JoggAI answered, so we know it did not create the motion
    if isinstance(exc, RateLimited):
        motion.submit_attempts -= 1
        accounts.cool_down(session, exc.retry_after or policy.window_seconds)
        outcome = SubmitOutcome.RATE_LIMITED
    elif isinstance(exc, OutOfCredit | BadCredentials):
        motion.submit_attempts -= 1
        accounts.pause(session, _pause_reason(exc), str(exc), policy.probe_interval)
        outcome = SubmitOutcome.PAUSED
    elif isinstance(exc, RetryableError):
        outcome = _retry_later(session, motion, exc, policy)
    else:
        code = "jogg_rejected" if isinstance(exc, BadRequest) else "jogg_error"
        _fail(session, motion, code, exc.message, exc.jogg_code)
        outcome = SubmitOutcome.FAILED
    return outcome


def _retry_later(session: Session, motion: Motion, exc: JoggError, policy: Policy) -> SubmitOutcome:
    """Back off exponentially with jitter, or fail once the attempts are used up."""
    if motion.submit_attempts >= policy.max_attempts:
        message = f"JoggAI kept failing after {motion.submit_attempts} attempts: {exc.message}"
        _fail(session, motion, "jogg_unavailable", message, exc.jogg_code)
        return SubmitOutcome.FAILED
    delay = retry_delay(policy.retry_base, motion.submit_attempts)
    motion.next_submit_at = utcnow() + timedelta(seconds=delay)
    log.warning("motion %s: JoggAI error (%s); retrying in %.0f s", motion.id, exc, delay)
    return SubmitOutcome.RETRYING


def retry_delay(base: float, attempt: int) -> float:
    """Exponential backoff, base * 2^(attempt-1), with +/-20 % jitter."""
    return base * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)


def _fail(session: Session, motion: Motion, code: str, message: str, jogg_code: int | None) -> None:
    """Fail the motion with a stored error."""
    motion.error = {"code": code, "message": message, "jogg_code": jogg_code}
    transition(session, motion, Status.FAILED, Source.WORKER, {"error": motion.error})


def _mark_uncertain(
    session: Session, motion: Motion, why: str, list_after: list | None = None, costs: dict | None = None
) -> SubmitOutcome:
    """Do not POST again blindly: JoggAI may already have this motion. The evidence decides (app.domain.doubt)."""
    doubt.flag(session, motion, why, list_after, costs)
    return SubmitOutcome.UNCERTAIN


def _pause_reason(exc: JoggError) -> str:
    """The pause reason for an account-level error."""
    if isinstance(exc, OutOfCredit):
        return accounts.OUT_OF_CREDIT
    return accounts.NO_PERMISSION if isinstance(exc, NoPermission) else accounts.BAD_CREDENTIALS
