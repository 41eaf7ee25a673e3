"""Submissions in doubt (a POST whose answer was lost): evidence that costs no POST, then the policy.

Evidence, cheapest first: JoggAI's webhook for the motion (adoption, in `tracking.adopt_uncertain`);
JoggAI's photo-avatar list, filtered by the motion's name, compared with what it showed just before
the POST (`list_before`) and at the first look after the answer was lost (`list_after`): an entry in
the second and not the first, claimed by no other motion, is this motion. When `UNCERTAIN_GRACE`
seconds pass with no sign at all, `UNCERTAIN_POLICY` decides: resubmit, fail, or wait.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import nudges
from app.config import FAIL, WAIT
from app.database import end_reads
from app.domain import charges
from app.domain.tracking import apply_status, next_poll_at
from app.domain.transitions import transition
from app.jogg import JoggClient, JoggError, PhotoAvatar
from app.models import Motion, MotionEvent, Source, Status
from app.models.types import utcnow

log = logging.getLogger(__name__)

SUBMISSION_LOST = "submission_lost"


class DoubtOutcome(StrEnum):
    """What a look at a motion in doubt decided (the doubt job counts and logs it)."""

    SETTLED = "settled"  # no longer in doubt, or another job holds it
    FOUND = "found"  # JoggAI's list shows it has the motion
    WAITING = "waiting"  # within the grace: look again
    RESUBMITTED = "resubmitted"
    FAILED = "failed"
    WAITING_FOR_OPERATOR = "waiting for an operator"


INTERRUPTED_AFTER = timedelta(seconds=2)  # a submit job commits its record while it runs, so this is plenty
REQUEST_FIELDS = ("image_url", "voice_id", "model", "photo_id", "description", "welcome_msg")
BATCH = 100


@dataclass(frozen=True)
class DoubtPolicy:
    """What to do once the grace is over, and the numbers it needs (from settings)."""

    policy: str
    grace: float
    max_attempts: int
    intervals: tuple[int, ...]


def avatar_ids(client: JoggClient, name: str) -> list | None:
    """The ids JoggAI's photo-avatar list shows for this exact name now; None when the list cannot be read."""
    try:
        return sorted({entry.avatar_id for entry in client.photo_avatars(name)}, key=str)
    except JoggError as exc:
        log.warning("photo-avatar list for a motion's name could not be read: %s", exc)
        return None


def flag(session: Session, motion: Motion, why: str, list_after: list | None = None, costs: dict | None = None) -> None:
    """Mark a queued motion's submission as in doubt (the caller commits); it is never POSTed blindly again.

    With `costs`, the motion is charged: JoggAI may have accepted the POST, and charges on accept.
    """
    motion.dispatched_at = None
    charges.charge(session, motion, costs or {})
    if list_after is not None:  # read once the POST ended, so it closes the window, even after an earlier flag
        motion.submission_evidence = {**(motion.submission_evidence or {}), "list_after": list_after}
    if motion.submission_uncertain_at is not None:
        return
    motion.submission_uncertain_at = motion.next_poll_at = utcnow()  # the first look is due at once
    note(session, motion, {"action": "submission in doubt", "reason": why})
    log.warning("motion %s: submission outcome unknown (%s); looking for evidence", motion.id, why)


def note(session: Session, motion: Motion, detail: dict) -> None:
    """A history row that records a decision about a queued motion without changing its status."""
    row = MotionEvent(motion_id=motion.id, from_status=Status.QUEUED, to_status=Status.QUEUED, source=Source.WORKER)
    row.detail = detail
    session.add(row)


def in_doubt() -> tuple:
    """Queued motions whose POST got no answer and that JoggAI has not been found to have yet."""
    return (
        Motion.status == Status.QUEUED,
        Motion.jogg_motion_id.is_(None),
        Motion.submission_uncertain_at.is_not(None),
    )


def interrupted(session: Session, now: datetime) -> list[tuple[str, datetime]]:
    """Submissions begun a moment ago or longer whose answer is not recorded and nobody flagged: (id, begun at)."""
    stmt = select(Motion.id, Motion.submit_started_at).where(
        Motion.status == Status.QUEUED,
        Motion.jogg_motion_id.is_(None),
        Motion.submission_uncertain_at.is_(None),
        Motion.submit_started_at < now - INTERRUPTED_AFTER,
    )
    return [tuple(row) for row in session.execute(stmt.limit(BATCH))]


def flag_interrupted(
    session: Session,
    begun: list[tuple[str, datetime]],
    job_alive: Callable[[str, datetime], bool],
    costs: dict | None = None,
) -> int:
    """Flag the submissions whose submit job is gone (its worker died, or it failed before recording the answer).

    Ends the caller's read-only transaction first (no transaction stays open over the job checks in Redis);
    the caller commits the flags.
    """
    end_reads(session)
    gone = [motion_id for motion_id, started_at in begun if not job_alive(motion_id, started_at)]
    flagged = 0
    for motion_id in gone:  # read again: a job that just finished has recorded its answer by now
        motion = session.get(Motion, motion_id, with_for_update=True, populate_existing=True)
        if motion.status == Status.QUEUED and motion.submit_started_at and not motion.jogg_motion_id:
            why = "its submit job died after the attempt was recorded (worker or database lost)"
            flag(session, motion, why, costs=costs)
            flagged += 1
    return flagged


def due(session: Session, now: datetime) -> list[str]:
    """Motions in doubt whose next look is due, oldest doubt first."""
    stmt = select(Motion.id).where(*in_doubt(), (Motion.next_poll_at.is_(None)) | (Motion.next_poll_at <= now))
    return list(session.scalars(stmt.order_by(Motion.submission_uncertain_at, Motion.id).limit(BATCH)))


class Verdict(Enum):
    """What JoggAI's photo-avatar list says about a motion in doubt."""

    FOUND = "found"  # a new entry that is this motion
    NONE = "none"  # nothing new of its name since the POST
    AMBIGUOUS = "ambiguous"  # a new entry that another same-name motion in doubt, asking for something else, fits too
    UNREADABLE = "unreadable"  # the list could not be read, or was not read before the POST


@dataclass(frozen=True)
class Look:
    """A verdict, what it rests on (for the history), and the entry that is the motion when found."""

    verdict: Verdict
    says: str
    entry: PhotoAvatar | None = None


@dataclass(frozen=True)
class Reading:
    """What was fetched from JoggAI with no transaction open: the list for the name, avatar ids learned."""

    entries: list[PhotoAvatar] | None
    problem: str | None
    learned: dict[str, int | None]


def resolve(session: Session, motion_id: str, client: JoggClient, policy: DoubtPolicy) -> DoubtOutcome:
    """Look for evidence for one motion in doubt and act on it (or on the policy once the grace is over).

    Reads what it needs, ends the transaction, asks JoggAI, then locks the motion, checks it is still in
    the same doubt and writes (the caller commits): no transaction or row lock is held over the calls to
    JoggAI. A doubt that ended meanwhile and began again (resubmitted, then lost again) is left to the next
    look: what was read before that POST is no evidence about it.
    """
    motion = session.scalars(select(Motion).where(Motion.id == motion_id, *in_doubt())).first()
    if motion is None:
        end_reads(session)
        return DoubtOutcome.SETTLED
    name, has_before = motion.name, (motion.submission_evidence or {}).get("list_before") is not None
    since, unlearned = motion.submission_uncertain_at, _unlearned(session, name)
    end_reads(session)
    reading = read(client, name, unlearned) if has_before else Reading(None, None, {})
    motion = _lock(session, motion_id, since)
    if motion is None:
        return DoubtOutcome.SETTLED
    _learn(session, reading.learned)
    return decide(session, motion, look(session, motion, reading), policy, utcnow())


def decide(session: Session, motion: Motion, seen: Look, policy: DoubtPolicy, now: datetime) -> DoubtOutcome:
    """Act on what the list says: claim the entry, look again within the grace, else the policy."""
    if seen.verdict is Verdict.FOUND:
        return claim(session, motion, seen.entry, policy.intervals, now)
    if now < motion.submission_uncertain_at + timedelta(seconds=policy.grace):
        return _later(session, motion, seen, policy, now)
    if seen.verdict is Verdict.AMBIGUOUS and policy.policy != WAIT:
        return _fail(session, motion, seen, now, "the evidence is ambiguous: resubmitting could create it twice")
    return act(session, motion, seen, policy, now)


def _lock(session: Session, motion_id: str, since: datetime) -> Motion | None:
    """The motion, locked, if it is still in the doubt that began at `since` (None if settled, or held by a job)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        # FOR UPDATE means nothing to SQLite: take its write lock first, so a second look waits and then reads
        # what the first one wrote (else both could see the motion in doubt and both claim it)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    same_doubt = Motion.submission_uncertain_at == since
    stmt = select(Motion).where(Motion.id == motion_id, *in_doubt(), same_doubt).with_for_update(skip_locked=True)
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def read(client: JoggClient, name: str, unlearned: list[tuple[str, str]]) -> Reading:
    """Ask JoggAI (no transaction open): the photo-avatar list for the name; then which entries are others'."""
    try:
        entries = client.photo_avatars(name)
    except JoggError as exc:
        return Reading(None, exc.message, {})
    return Reading(entries, None, learn_avatar_ids(client, unlearned) if entries else {})


def look(session: Session, motion: Motion, reading: Reading) -> Look:
    """What the photo-avatar list says about this motion (the caller holds its lock)."""
    evidence = dict(motion.submission_evidence or {})
    before = evidence.get("list_before")
    if before is None:
        return Look(Verdict.UNREADABLE, "photo-avatar list: not read before the POST, so it cannot tell")
    if reading.entries is None:
        return Look(Verdict.UNREADABLE, f"photo-avatar list: unreadable ({reading.problem})")
    entries = reading.entries
    if "list_after" not in evidence:  # the first look after the lost answer closes this motion's window
        evidence["list_after"] = sorted({entry.avatar_id for entry in entries}, key=str)
        motion.submission_evidence = evidence
    fresh = {str(i) for i in evidence["list_after"]} - {str(i) for i in before} - claimed(session, motion)
    candidates = [entry for entry in entries if str(entry.avatar_id) in fresh]
    if not candidates:
        return Look(Verdict.NONE, f"photo-avatar list: nothing new named {motion.name!r} since the POST")
    if rivals_differ(session, motion, {str(entry.avatar_id) for entry in candidates}):
        return Look(Verdict.AMBIGUOUS, "a new entry fits another same-name motion in doubt with other fields")
    entry = candidates[-1]  # newest first: the oldest
    return Look(Verdict.FOUND, f"photo-avatar list: new entry {entry.avatar_id}", entry)


def claimed(session: Session, motion: Motion) -> set[str]:
    """Photo-avatar ids other motions of this name (recent ones) already stand for."""
    since = motion.created_at - timedelta(days=1)
    rows = session.execute(
        select(Motion.avatar_id, Motion.submission_evidence).where(
            Motion.name == motion.name, Motion.id != motion.id, Motion.created_at >= since
        )
    )
    ids = set()
    for avatar_id, evidence in rows:
        ids.update(str(i) for i in (avatar_id, (evidence or {}).get("claimed")) if i is not None)
    return ids


def _unlearned(session: Session, name: str) -> list[tuple[str, str]]:
    """Same-name motions JoggAI accepted whose avatar id we lack: (motion id, JoggAI motion id), ten at most."""
    stmt = select(Motion.id, Motion.jogg_motion_id).where(
        Motion.name == name, Motion.status == Status.PROCESSING, Motion.jogg_motion_id.is_not(None),
        Motion.avatar_id.is_(None),
    )  # fmt: skip
    return [tuple(row) for row in session.execute(stmt.limit(10))]


def learn_avatar_ids(client: JoggClient, unlearned: list[tuple[str, str]]) -> dict[str, int | None]:
    """A status check for each: which list entry is theirs (no transaction open); motion id -> avatar id."""
    learned = {}
    for motion_id, jogg_motion_id in unlearned:
        try:
            learned[motion_id] = client.motion_status(jogg_motion_id).avatar_id
        except JoggError:
            continue
    return learned


def _learn(session: Session, learned: dict[str, int | None]) -> None:
    """Store the avatar ids learned, where still missing (the caller commits)."""
    for motion_id, avatar_id in learned.items():
        if avatar_id is not None:
            session.execute(
                update(Motion).where(Motion.id == motion_id, Motion.avatar_id.is_(None)).values(avatar_id=avatar_id)
            )


def rivals_differ(session: Session, motion: Motion, candidate_ids: set[str]) -> bool:
    """Whether another same-name motion in doubt could be the new entry too, yet asked for something else.

    Two requests that differ only by caller are interchangeable, so the first looked at takes the entry.
    """
    rivals = session.scalars(select(Motion).where(*in_doubt(), Motion.name == motion.name, Motion.id != motion.id))
    for rival in rivals:
        evidence = rival.submission_evidence or {}
        before = {str(i) for i in evidence.get("list_before") or ()}
        after = evidence.get("list_after")
        window = ({str(i) for i in after} if after is not None else candidate_ids) - before
        differs = any(getattr(rival, field) != getattr(motion, field) for field in REQUEST_FIELDS)
        if differs and window & candidate_ids and evidence.get("list_before") is not None:
            return True
    return False


def claim(
    session: Session, motion: Motion, entry: PhotoAvatar, intervals: tuple[int, ...], now: datetime
) -> DoubtOutcome:
    """JoggAI's list shows it has this motion: processing (its motion id unknown), then its status if final."""
    motion.submission_evidence = {**(motion.submission_evidence or {}), "claimed": entry.avatar_id}
    motion.avatar_id = entry.avatar_id if isinstance(entry.avatar_id, int) else None
    motion.submission_uncertain_at = motion.dispatched_at = None
    evidence = f"JoggAI's photo-avatar list: entry {entry.avatar_id} named {entry.name!r} appeared after the POST"
    transition(session, motion, Status.PROCESSING, Source.WORKER, {"adopted": True, "evidence": evidence})
    motion.next_poll_at = next_poll_at(now, 0, intervals, now)
    status = entry.as_status()
    if status.is_success() or status.is_failure():
        apply_status(session, motion, status, Source.POLL, intervals)
    log.warning("motion %s: JoggAI's list shows it has it (photo avatar %s)", motion.id, entry.avatar_id)
    return DoubtOutcome.FOUND


def _later(session: Session, motion: Motion, seen: Look, policy: DoubtPolicy, now: datetime) -> DoubtOutcome:
    """Within the grace: look again in a quarter of it (saying once in the history if the evidence is ambiguous)."""
    evidence = dict(motion.submission_evidence or {})
    if seen.verdict is Verdict.AMBIGUOUS and not evidence.get("ambiguous"):
        motion.submission_evidence = {**evidence, "ambiguous": True}
        note(session, motion, {"action": "waiting: the evidence is ambiguous", "evidence": seen.says})
    grace_ends = motion.submission_uncertain_at + timedelta(seconds=policy.grace)
    motion.next_poll_at = min(now + timedelta(seconds=max(1.0, policy.grace / 4)), grace_ends)
    return DoubtOutcome.WAITING


def act(session: Session, motion: Motion, seen: Look, policy: DoubtPolicy, now: datetime) -> DoubtOutcome:
    """The grace is over with no sign that JoggAI has the motion: resubmit, fail or wait, as configured."""
    if policy.policy == WAIT:
        return _wait(session, motion, _evidence(seen), policy, now)
    if policy.policy == FAIL or motion.submit_attempts >= policy.max_attempts:
        return _fail(session, motion, seen, now, "no sign that JoggAI has this motion")
    waited = int((now - motion.submission_uncertain_at).total_seconds())
    reason = f"no sign that JoggAI has it {waited} s after the answer was lost"
    note(session, motion, {"action": "resubmitted", "reason": reason, "evidence": _evidence(seen),
                           "attempt": motion.submit_attempts + 1})  # fmt: skip
    motion.submit_started_at = motion.submission_uncertain_at = motion.dispatched_at = None
    motion.next_poll_at = motion.next_submit_at = None
    motion.submission_evidence = None
    nudges.ask_dispatch(session, checked=motion.preflight_at is not None)
    log.warning("motion %s: resubmitting (%s)", motion.id, reason)
    return DoubtOutcome.RESUBMITTED


def _evidence(seen: Look) -> dict:
    """The evidence as the history records it."""
    return {"webhook": "none matched this motion", "photo_avatar_list": seen.says, "verdict": seen.verdict.value}


def _fail(session: Session, motion: Motion, seen: Look, now: datetime, why: str) -> DoubtOutcome:
    """Fail the motion as submission_lost, saying why and how long after the answer was lost."""
    waited = int((now - motion.submission_uncertain_at).total_seconds())
    message = f"{why} {waited} s after its answer was lost"
    motion.error = {"code": SUBMISSION_LOST, "message": message, "jogg_code": None}
    motion.next_poll_at = None
    transition(session, motion, Status.FAILED, Source.WORKER, {"error": motion.error, "evidence": _evidence(seen)})
    return DoubtOutcome.FAILED


def _wait(session: Session, motion: Motion, evidence: dict, policy: DoubtPolicy, now: datetime) -> DoubtOutcome:
    """Policy wait: say so once in the history, keep looking for evidence once per grace."""
    if not (motion.submission_evidence or {}).get("waiting"):
        motion.submission_evidence = {**(motion.submission_evidence or {}), "waiting": True}
        note(session, motion, {"action": "waiting for an operator", "evidence": evidence})
    motion.next_poll_at = now + timedelta(seconds=policy.grace)
    return DoubtOutcome.WAITING_FOR_OPERATOR
