"""The dispatcher: hand free JoggAI POST slots to queued motions, in proportion to their callers' weights."""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.domain import account as accounts
from app.models import ACCOUNT_ID, Caller, JoggAccount, Motion, Status

PRIORITY_RANK = case({"high": 0, "normal": 1, "low": 2}, value=Motion.priority, else_=1)
# Slots a caller was given over this recent stretch count towards its share (stateless: read from the motions).
FAIR_WINDOW = timedelta(minutes=10)
# A caller back from a pause catches up by at most this many slots per unit of weight, not the whole window's.
CATCH_UP = 10.0
# Slots freeing within the lead are handed out now, so their submit jobs are in a worker when the slot frees (the
# clock dispatches a lead before each slot frees, app.jobs.next_hand_out_in). The lead is what the latest jobs took
# from their dispatch to asking for a slot (the dispatch's commit, the enqueue, the pickup, JoggAI's list read): their
# median, within these bounds. It grows on a loaded host, where that chain does; it stays short because every job
# that comes early holds a worker while it waits (0.2 s fixed made each submission hold one for ~100 ms, not ~45,
# and the callbacks and events waited behind them).
LEAD_MIN, LEAD_MAX = 0.05, 0.25
# A submit job waits at most this long for its slot before handing the motion back.
SLOT_WAIT = LEAD_MAX + 0.3
# A motion handed back is not picked again for this long: its job is still ending (RQ says started), so a submit
# job enqueued for it meanwhile would be taken for a duplicate and dropped, the motion lost until the sweep (30 s).
HAND_BACK_HOLD = timedelta(seconds=1)


def lead(lags: list[float]) -> float:
    """Seconds ahead of a slot's freeing to hand it out: the median of the latest dispatch-to-slot-request lags."""
    return min(LEAD_MAX, max(LEAD_MIN, statistics.median(lags))) if lags else LEAD_MIN


def ready_to_submit(now: datetime, preflight: bool = False):
    """Queued motions nobody is submitting, not waiting for a retry, not in doubt, not following another motion.

    With pre-flight on, only those whose checks passed (`preflight_at`): a slot never waits on an image download.
    """
    ready = (
        Motion.status == Status.QUEUED,
        Motion.dispatched_at.is_(None),
        Motion.submit_started_at.is_(None),
        Motion.submission_uncertain_at.is_(None),
        Motion.reused_from.is_(None),
        or_(Motion.next_submit_at.is_(None), Motion.next_submit_at <= now),
    )
    return (*ready, Motion.preflight_at.is_not(None)) if preflight else ready


@dataclass(frozen=True)
class Standing:
    """The callers with ready motions, each one's weight and slots served over FAIR_WINDOW, and the slots in flight."""

    weights: dict[int, int]
    served: dict[int, int]
    in_flight: int  # motions handed to a submit job that has not taken its POST slot yet


def standing(session: Session, now: datetime, preflight: bool = False) -> Standing:
    """Everything the fair share needs, in one read: who waits, their weights, what each was given, what is in flight.

    Served: POSTs charged over FAIR_WINDOW (accepted or in doubt) plus motions handed out and not yet charged.
    """
    ready = select(Motion.caller_id).where(*ready_to_submit(now, preflight)).distinct().subquery("ready")
    mine = Motion.caller_id == ready.c.caller_id
    charged = select(func.count()).where(mine, Motion.charged_at >= now - FAIR_WINDOW, Motion.credits > 0)
    handed_out = select(func.count()).where(
        mine, Motion.status == Status.QUEUED, Motion.dispatched_at.is_not(None), Motion.charged_at.is_(None)
    )
    in_flight = select(func.count()).where(
        Motion.status == Status.QUEUED, Motion.dispatched_at.is_not(None), Motion.submit_started_at.is_(None)
    )
    rows = session.execute(
        select(
            ready.c.caller_id,
            Caller.weight,
            charged.scalar_subquery() + handed_out.scalar_subquery(),
            in_flight.scalar_subquery(),
        ).outerjoin(Caller, Caller.id == ready.c.caller_id)
    ).all()
    weights = {caller: max(1, weight or 1) for caller, weight, _, _ in rows}
    return Standing(weights, {caller: served for caller, _, served, _ in rows}, rows[0][3] if rows else 0)


def pick_fairly(
    session: Session, waiting: Standing, slots: int, after_caller: int, now: datetime, preflight: bool = False
) -> list[Motion]:
    """Up to `slots` motions, shared among callers with ready motions in proportion to their weights.

    Weighted least-served first: each slot goes to the caller with the fewest slots per unit of weight over
    FAIR_WINDOW (counting this round's picks), so shares hold across dispatch rounds, not only within one; ties go
    round robin after `after_caller`. Inside a caller: priority, then age.
    """
    callers, weights = sorted(waiting.weights), waiting.weights
    share = {caller: waiting.served.get(caller, 0) / weights[caller] for caller in callers}
    floor = max(share.values()) - CATCH_UP
    share = {caller: max(value, floor) for caller, value in share.items()}
    turn = {caller: (caller <= after_caller, caller) for caller in callers}
    queues = {caller: _next_for(session, caller, slots, now, preflight) for caller in callers}
    picked: list[Motion] = []
    while len(picked) < slots:
        left = [caller for caller in callers if queues[caller]]
        if not left:
            break
        caller = min(left, key=lambda c: (share[c] + 1 / weights[c], turn[c]))  # whose next slot ends earliest
        picked.append(queues[caller].pop(0))
        share[caller] += 1 / weights[caller]
    return picked


def dispatch(session: Session, free_slots: int, now: datetime, preflight: bool = False) -> list[str]:
    """Mark the motions that get the free slots as dispatched; returns their ids (the caller commits, then enqueues).

    Returns at once while another transaction (another dispatch, mostly) holds the account row: the next pass or
    that dispatch hands out the slots.
    """
    account = claim_account(session)
    if account is None or accounts.blocked_by(account, now):
        return []
    waiting = standing(session, now, preflight)
    slots = free_slots - waiting.in_flight
    if slots <= 0 or not waiting.weights:
        return []
    picked = pick_fairly(session, waiting, slots, account.last_caller_served, now, preflight)
    for motion in picked:
        motion.dispatched_at = now
    if picked:
        account.last_caller_served = picked[-1].caller_id
    return [motion.id for motion in picked]


def claim_account(session: Session) -> JoggAccount | None:
    """The account row locked for this dispatch, or None while another transaction holds it (never waits for it).

    Dispatches run in the clock, in nudged jobs and in the pre-flight job; one that waited behind another's lock would
    mostly find the slots handed out, and it holds a worker the submit jobs wait for (at a backlog's start nudged
    dispatches took 50-220 ms each, finding nothing, while the first submit jobs queued behind them).
    """
    stmt = select(JoggAccount).where(JoggAccount.id == ACCOUNT_ID).with_for_update(skip_locked=True)
    account = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if account is None and session.get(JoggAccount, ACCOUNT_ID) is None:  # never written yet: create it, locked
        account = accounts.load(session, lock=True)
    return account


def _next_for(session: Session, caller_id: int, limit: int, now: datetime, preflight: bool) -> list[Motion]:
    """One caller's next motions: high before normal before low, oldest first."""
    stmt = (
        select(Motion)
        .where(Motion.caller_id == caller_id, *ready_to_submit(now, preflight))
        .order_by(PRIORITY_RANK, Motion.created_at, Motion.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))
