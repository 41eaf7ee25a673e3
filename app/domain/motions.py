"""Motions as callers see them: accept, read, list, wait, cancel and retry."""

import time
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.cursors import motion_cursor
from app.database import end_reads, savepoint
from app.domain import credits, quotas, reuse
from app.domain.errors import Conflict, DomainError, ExternalIdTaken, IllegalTransition, NotFound
from app.domain.transitions import admit, admit_values, complete_from, transition
from app.models import FINAL_STATUSES, Caller, Motion, MotionEvent, Source, Status
from app.models.motion import new_motion_id
from app.models.types import utcnow

REQUEST_FIELDS = ("image_url", "name", "voice_id", "model", "photo_id", "description", "welcome_msg", "external_id")


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor for the next."""

    items: list[Motion]
    next_cursor: str | None


class Written(SimpleNamespace):
    """A motion just written, as attributes with the values its row got: what a batch answers, nothing to change."""


@dataclass
class Intake:
    """What one request knows while it accepts motions: the caller, its quota allowance, the settings."""

    caller: Caller
    allowance: quotas.Allowance
    costs: dict[str, int]
    reuse_max_age: int
    now: datetime


def start_intake(session: Session, caller: Caller, settings) -> Intake:
    """Begin accepting motions for a caller: its quota is locked and counted once for the whole request."""
    now = utcnow()
    allowance = quotas.allowance(session, caller, settings.jogg_credit_costs, now)
    return Intake(caller, allowance, settings.jogg_credit_costs, settings.reuse_max_age, now)


def create_motion(session: Session, caller: Caller, data: dict, intake: Intake | None = None) -> Motion:
    """Accept a validated request as a queued motion (flushed, not committed); no intake: no quota, no reuse."""
    intake = intake or Intake(caller, quotas.Allowance(None, utcnow()), {}, 0, utcnow())
    if is_plain(data):
        # Nothing unique to lose a race for, nothing read before the insert: no savepoint, one INSERT.
        return admit(session, [motion_values(intake, data)], Source.API)[0]
    try:
        with savepoint(session):  # a lost race undoes this insert only, not the caller's transaction
            motion = build_motion(session, intake, data)
    except IntegrityError:
        # A concurrent request took the external_id between our check and our insert.
        _refuse_taken_external_id(session, intake.caller.id, data.get("external_id"))
        raise
    return motion


def create_many(
    session: Session, intake: Intake, requests: list[dict | None]
) -> list[Motion | Written | DomainError | None]:
    """Accept validated requests in order (None, one refused before, stays None): each a motion or its refusal.

    Not flushed. Plain motions are written together, but before any request that reads motions (an
    external_id check, a reuse look) so that it sees them, as it would see them one by one; each comes
    back as its written values (Written), not as an ORM object in the session.
    """
    results: list = []
    waiting: list[int] = []  # positions of plain requests' values, not written yet
    for data in requests:
        if data is not None and not is_plain(data):
            _write_waiting(session, results, waiting)
        results.append(_accept(session, intake, data))
        if isinstance(results[-1], dict):
            waiting.append(len(results) - 1)
    _write_waiting(session, results, waiting)
    return results


def _write_waiting(session: Session, results: list, waiting: list[int]) -> None:
    """Write the plain motions waiting (their values at these positions), each put in its place as Written."""
    written = admit_values(session, [results[position] for position in waiting], Source.API)
    for position, values in zip(waiting, written, strict=True):
        results[position] = Written(**values)
    waiting.clear()


def _accept(session: Session, intake: Intake, data: dict | None) -> Motion | DomainError | dict | None:
    """One request of a batch: a plain one's values (written later), any other's motion (added), or its refusal."""
    if data is None:
        return None
    try:
        return motion_values(intake, data) if is_plain(data) else build_motion(session, intake, data)
    except DomainError as exc:
        return exc


def is_plain(data: dict) -> bool:
    """Whether a request needs no reading before its insert (no external_id to check, no reuse to look for)."""
    return data.get("external_id") is None and not data.get("reuse")


def motion_values(intake: Intake, data: dict, root: Motion | None = None) -> dict:
    """A validated request's motion as attribute values, counted against the quota unless it reuses a root."""
    caller = intake.caller
    if root is None and intake.allowance.status is not None:
        intake.allowance.take(credits.cost(intake.costs, data["model"]))
    return dict(
        id=new_motion_id(),
        caller_id=caller.id,
        callback_url=data["callback_url"] if "callback_url" in data else caller.default_callback_url,
        meta=data.get("meta"),
        priority=data.get("priority", "normal"),
        content_key=reuse.content_key(data),
        reuse=bool(data.get("reuse")),
        reused_from=root.id if root is not None else None,
        **{name: data.get(name) for name in REQUEST_FIELDS},
    )


def build_motion(session: Session, intake: Intake, data: dict) -> Motion:
    """Add a motion for a validated request: reused, following, or queued within the quota (not flushed)."""
    caller, external_id = intake.caller, data.get("external_id")
    if external_id is not None:
        _refuse_taken_external_id(session, caller.id, external_id)
    root = None
    if data.get("reuse"):
        root = reuse.find_root(session, caller.id, reuse.content_key(data), intake.now, intake.reuse_max_age)
    motion = Motion(**motion_values(intake, data, root))
    session.add(motion)
    transition(session, motion, Status.QUEUED, Source.API)
    if root is not None and root.status == Status.COMPLETED:
        complete_from(session, motion, root)
    return motion


def get_motion(session: Session, caller_id: int, motion_id: str) -> Motion:
    """The caller's motion with this id; another caller's is reported as missing."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    if motion is None or motion.caller_id != caller_id:
        raise NotFound(f"no motion {motion_id!r}")
    return motion


def wait_for_change(session: Session, caller_id: int, motion_id: str, seconds: float, every: float = 0.25) -> Motion:
    """Re-read the motion until its status changes or the time is up; a final status is answered at once.

    Holds no transaction while waiting.
    """
    motion = get_motion(session, caller_id, motion_id)
    first_status, deadline = motion.status, time.monotonic() + seconds
    while motion.status == first_status and motion.status not in FINAL_STATUSES and time.monotonic() < deadline:
        end_reads(session)
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))
        motion = get_motion(session, caller_id, motion_id)
    return motion


def list_motions(
    session: Session, caller_id: int, filters: dict, limit: int, after: tuple[datetime, str] | None
) -> Page:
    """The caller's motions, newest first, filtered, one page at a time.

    The page's ids come first from the caller's own index (`ix_motions_caller_created`, read alone), then their
    rows: asked for whole rows, PostgreSQL may walk `ix_motions_created_at` across every caller instead, which
    for a caller whose motions are all older than the others' read nearly the whole table (370-835 ms at 1M).
    """
    ids = select(Motion.id).where(Motion.caller_id == caller_id)
    for name in ("status", "external_id"):
        if filters.get(name) is not None:
            ids = ids.where(getattr(Motion, name) == filters[name])
    if filters.get("created_after") is not None:
        ids = ids.where(Motion.created_at > filters["created_after"])
    if filters.get("created_before") is not None:
        ids = ids.where(Motion.created_at < filters["created_before"])
    if after:
        at, last_id = after
        ids = ids.where(or_(Motion.created_at < at, and_(Motion.created_at == at, Motion.id < last_id)))
    newest_first = (Motion.created_at.desc(), Motion.id.desc())
    page = ids.order_by(*newest_first).limit(limit + 1).subquery()
    rows = list(session.scalars(select(Motion).join(page, page.c.id == Motion.id).order_by(*newest_first)))
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, motion_cursor(items[-1].created_at, items[-1].id) if more else None)


def cancel_motion(session: Session, caller_id: int, motion_id: str) -> Motion:
    """Cancel a queued motion, unless its submission to JoggAI has already begun."""
    motion = get_motion(session, caller_id, motion_id)
    if motion.status != Status.QUEUED:
        raise _cannot(motion, Status.CANCELLED, "only a queued motion can be cancelled")
    if motion.submit_started_at is not None:
        raise Conflict(f"motion {motion_id} is being submitted to JoggAI and can no longer be cancelled")
    transition(session, motion, Status.CANCELLED, Source.API, {"reason": "cancelled by caller"})
    return motion


def retry_motion(session: Session, caller_id: int, motion_id: str) -> Motion:
    """Send a failed motion back to the queue."""
    motion = get_motion(session, caller_id, motion_id)
    if motion.status != Status.FAILED:
        raise _cannot(motion, Status.QUEUED, "only a failed motion can be retried")
    detail = {"reason": "retried by caller", "previous_error": motion.error}
    transition(session, motion, Status.QUEUED, Source.API, detail)
    return motion


def motion_events(session: Session, caller_id: int, motion_id: str) -> list[MotionEvent]:
    """The status history of the caller's motion, oldest first."""
    get_motion(session, caller_id, motion_id)
    return list(session.scalars(select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id)))


def _cannot(motion: Motion, target: Status, rule: str) -> IllegalTransition:
    """The conflict a caller sees when asking for a status change the motion's status does not allow."""
    detail = f"motion {motion.id} is {motion.status}; {rule}"
    return IllegalTransition(detail, from_status=str(motion.status), to_status=str(target))


def _refuse_taken_external_id(session: Session, caller_id: int, external_id: str) -> None:
    """Raise ExternalIdTaken when the caller already has a motion with this external_id."""
    existing = session.scalar(select(Motion.id).where(Motion.caller_id == caller_id, Motion.external_id == external_id))
    if existing is not None:
        raise ExternalIdTaken(f"external_id {external_id!r} is already used by motion {existing}", motion_id=existing)
