"""Pre-flight in the workflow: which queued motions to check next, and what a verdict does to a motion.

The checks themselves are `app.preflight` (no database); the job that runs them with no transaction open is
`app.jobs.preflight_motions`. A motion is checked once: the passing record is `preflight_at`, a failure moves it
`queued -> failed` with source `preflight`, and no POST, so no credit, is ever spent on it.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from app import nudges
from app.domain.dispatch import PRIORITY_RANK
from app.domain.transitions import transition
from app.models import Caller, Motion, MotionEvent, Source, Status
from app.models.types import utcnow
from app.preflight import IMAGE_REJECTED, IMAGE_UNREACHABLE, VOICE_UNKNOWN, ImageVerdict, unknown_voice_message

log = logging.getLogger(__name__)


class PreflightOutcome(StrEnum):
    """What recording a verdict did (the pre-flight job counts and logs it; a metrics label)."""

    PASSED = "passed"
    WARNED = "warned"  # PREFLIGHT_UNREACHABLE=submit: submitted with the unreachable image noted
    SKIPPED = "skipped"  # cancelled, checked by another job, or locked by one
    VOICE_UNKNOWN = VOICE_UNKNOWN  # failed: the verdict's code
    IMAGE_REJECTED = IMAGE_REJECTED
    IMAGE_UNREACHABLE = IMAGE_UNREACHABLE


@dataclass(frozen=True)
class Candidate:
    """What the checks need of a motion, read before the transaction ends (jobs pass ids, not rows)."""

    id: str
    image_url: str
    voice_id: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of one motion's checks: `code` None when it may take a POST slot."""

    code: str | None
    message: str
    warning: str | None = None  # PREFLIGHT_UNREACHABLE=submit: the unreachable image, recorded in the history


def unchecked() -> tuple:
    """Queued motions waiting for pre-flight: not checked, not dispatched, not following another motion."""
    return (
        Motion.status == Status.QUEUED,
        Motion.preflight_at.is_(None),
        Motion.reused_from.is_(None),
        Motion.dispatched_at.is_(None),
        Motion.submit_started_at.is_(None),
    )


def next_unchecked(session: Session, lookahead: int, limit: int) -> list[Candidate]:
    """Each caller's next `lookahead` queued motions in dispatch order, those not checked yet, callers interleaved.

    Counting the checked ones in each caller's first `lookahead` means pre-flight stays that far ahead of
    dispatch for every caller with work, and no further (a backlog of thousands is checked as it nears its turn).
    Callers are interleaved by weight (a caller of weight 5 has five motions checked for one of a caller of
    weight 1), as dispatch shares the slots: when pre-flight falls behind, the checked motions keep the shares.
    """
    order = (PRIORITY_RANK, Motion.created_at, Motion.id)
    rank = func.row_number().over(partition_by=Motion.caller_id, order_by=order).label("rank")
    weight = case((Caller.weight >= 1, Caller.weight), else_=1).label("weight")  # as dispatch reads it
    ahead = (
        select(Motion.id, Motion.image_url, Motion.voice_id, Motion.preflight_at, Motion.reused_from, rank, weight)
        .join(Caller, Caller.id == Motion.caller_id)
        .where(Motion.status == Status.QUEUED, Motion.dispatched_at.is_(None), Motion.submit_started_at.is_(None))
        .subquery()
    )
    stmt = (
        select(ahead.c.id, ahead.c.image_url, ahead.c.voice_id)
        .where(ahead.c.rank <= lookahead, ahead.c.preflight_at.is_(None), ahead.c.reused_from.is_(None))
        .order_by(cast(ahead.c.rank, Float) / ahead.c.weight, ahead.c.id)
        .limit(limit)
    )
    return [Candidate(*row) for row in session.execute(stmt)]


def waiting(session: Session) -> int:
    """How many queued motions wait for pre-flight (the clock's check whether to nudge)."""
    return session.scalar(select(func.count()).where(*unchecked()))


def verdict_for(image: ImageVerdict | None, voice_known: bool | None, voice_id: str, unreachable: str) -> Verdict:
    """One verdict from the image's and the voice's checks (voice first: it costs no download)."""
    if voice_known is False:
        return Verdict(VOICE_UNKNOWN, unknown_voice_message(voice_id))
    if image is None or image.ok:
        return Verdict(None, "passed")
    if image.code == IMAGE_UNREACHABLE and unreachable == "submit":
        return Verdict(None, "passed", warning=image.message)
    return Verdict(image.code, image.message)


def apply(session: Session, verdicts: list[tuple[str, Verdict]]) -> list[PreflightOutcome]:
    """Record verdicts on the motions still waiting for them, locked in one read (the caller commits); what each did."""
    ids = [motion_id for motion_id, _ in verdicts]
    stmt = select(Motion).where(Motion.id.in_(ids), *unchecked()).with_for_update(skip_locked=True)
    waiting = {motion.id: motion for motion in session.scalars(stmt.execution_options(populate_existing=True))}
    now = utcnow()
    return [_record(session, waiting.get(motion_id), verdict, now) for motion_id, verdict in verdicts]


def _record(session: Session, motion: Motion | None, verdict: Verdict, now: datetime) -> PreflightOutcome:
    """One verdict on a motion locked for it (None: cancelled, checked by another job, or locked by one)."""
    if motion is None:  # nothing to record
        return PreflightOutcome.SKIPPED
    if verdict.code is not None:
        motion.error = {"code": verdict.code, "message": verdict.message, "jogg_code": None}
        transition(session, motion, Status.FAILED, Source.PREFLIGHT, {"error": motion.error})
        log.info("motion %s failed pre-flight: %s", motion.id, verdict.message, extra={"motion_id": motion.id})
        return PreflightOutcome(verdict.code)
    motion.preflight_at = now
    if verdict.warning:
        detail = {"action": "submitted despite pre-flight", "code": IMAGE_UNREACHABLE, "warning": verdict.warning}
        session.add(MotionEvent(motion_id=motion.id, from_status=Status.QUEUED, to_status=Status.QUEUED,
                                source=Source.PREFLIGHT, detail=detail))  # fmt: skip
        log.warning("motion %s: %s; submitted anyway (PREFLIGHT_UNREACHABLE=submit)", motion.id, verdict.warning)
    nudges.ask_dispatch(session, checked=True)
    return PreflightOutcome.WARNED if verdict.warning else PreflightOutcome.PASSED
