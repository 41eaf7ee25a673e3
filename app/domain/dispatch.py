"""The dispatcher: hand free JoggAI POST slots to queued motions, fairly across callers."""

from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.domain import account as accounts
from app.models import Motion, Status

PRIORITY_RANK = case({"high": 0, "normal": 1, "low": 2}, value=Motion.priority, else_=1)


def ready_to_submit(now: datetime):
    """Queued motions nobody is submitting, not waiting for a retry, not in doubt."""
    return (
        Motion.status == Status.QUEUED,
        Motion.dispatched_at.is_(None),
        Motion.submit_started_at.is_(None),
        Motion.submission_uncertain_at.is_(None),
        or_(Motion.next_submit_at.is_(None), Motion.next_submit_at <= now),
    )


def in_flight(session: Session) -> int:
    """Motions handed to a submit job that has not taken its POST slot yet."""
    stmt = select(func.count()).where(
        Motion.status == Status.QUEUED, Motion.dispatched_at.is_not(None), Motion.submit_started_at.is_(None)
    )
    return session.scalar(stmt)


def pick_fairly(session: Session, slots: int, after_caller: int, now: datetime) -> list[Motion]:
    """Up to `slots` motions: round robin across callers (starting after `after_caller`), then priority, then age."""
    callers = list(session.scalars(select(Motion.caller_id).where(*ready_to_submit(now)).distinct()))
    callers.sort(key=lambda caller_id: (caller_id <= after_caller, caller_id))
    queues = {caller_id: _next_for(session, caller_id, slots, now) for caller_id in callers}
    picked: list[Motion] = []
    while len(picked) < slots and any(queues.values()):
        for caller_id in callers:
            if queues[caller_id] and len(picked) < slots:
                picked.append(queues[caller_id].pop(0))
    return picked


def dispatch(session: Session, free_slots: int, now: datetime) -> list[str]:
    """Mark the motions that get the free slots as dispatched; returns their ids (the caller commits, then enqueues)."""
    account = accounts.load(session, lock=True)
    if accounts.blocked_by(account, now):
        return []
    slots = free_slots - in_flight(session)
    if slots <= 0:
        return []
    picked = pick_fairly(session, slots, account.last_caller_served, now)
    for motion in picked:
        motion.dispatched_at = now
    if picked:
        account.last_caller_served = picked[-1].caller_id
    return [motion.id for motion in picked]


def _next_for(session: Session, caller_id: int, limit: int, now: datetime) -> list[Motion]:
    """One caller's next motions: high before normal before low, oldest first."""
    stmt = (
        select(Motion)
        .where(Motion.caller_id == caller_id, *ready_to_submit(now))
        .order_by(PRIORITY_RANK, Motion.created_at, Motion.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))
