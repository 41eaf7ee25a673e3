"""Pausing and resuming JoggAI submissions, and cooling down after a 429."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import ACCOUNT_ID, JoggAccount
from app.models.types import utcnow

log = logging.getLogger(__name__)

OUT_OF_CREDIT = "out_of_credit"
BAD_CREDENTIALS = "bad_credentials"
NO_PERMISSION = "no_permission"
COOLING_DOWN = "cooling_down"
MIN_CREDITS_TO_RESUME = 3  # the price of the dearest model (2.0-Pro)


def load(session: Session, lock: bool = False) -> JoggAccount:
    """The account row, created on first use; `lock` holds it for the rest of the transaction."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(JoggAccount).values(id=ACCOUNT_ID, last_caller_served=0).on_conflict_do_nothing())
    stmt = select(JoggAccount).where(JoggAccount.id == ACCOUNT_ID).execution_options(populate_existing=True)
    return session.scalars(stmt.with_for_update() if lock else stmt).one()


def peek(session: Session) -> JoggAccount:
    """The account row for reading only: no insert, no lock (an account never written is a fresh one)."""
    return session.get(JoggAccount, ACCOUNT_ID, populate_existing=True) or JoggAccount(
        id=ACCOUNT_ID, last_caller_served=0
    )


def blocked_by(account: JoggAccount, now: datetime) -> str | None:
    """Why no POST may go now (a pause reason or cooling_down), or None."""
    if account.paused_reason:
        return account.paused_reason
    if account.cooldown_until and account.cooldown_until > now:
        return COOLING_DOWN
    return None


def blocking(now: datetime):
    """`blocked_by` as a SQL condition: true while the account row stops POSTs (paused, or cooling down past now)."""
    stopped = or_(JoggAccount.paused_reason.is_not(None), JoggAccount.cooldown_until > now)
    return exists().where(JoggAccount.id == ACCOUNT_ID, stopped)


def pause(session: Session, reason: str, detail: str, probe_in: float) -> None:
    """Stop all submissions until a probe shows they can resume; motions stay queued."""
    account = load(session, lock=True)
    if account.paused_reason != reason:
        log.error("JoggAI submissions paused: %s (%s)", reason, detail)
        account.paused_at = utcnow()
    account.paused_reason, account.paused_detail = reason, detail[:500]
    account.next_probe_at = utcnow() + timedelta(seconds=probe_in)


def resume(session: Session) -> None:
    """Let submissions flow again."""
    account = load(session, lock=True)
    if account.paused_reason:
        log.warning("JoggAI submissions resumed after %s", account.paused_reason)
    account.paused_reason = account.paused_detail = account.paused_at = account.next_probe_at = None


def cool_down(session: Session, seconds: float) -> None:
    """Hold every POST for a while after JoggAI said 429."""
    account = load(session, lock=True)
    until = utcnow() + timedelta(seconds=seconds)
    if account.cooldown_until is None or account.cooldown_until < until:
        account.cooldown_until = until
    log.warning("JoggAI answered 429; holding POSTs for %.1f s", seconds)


def describe(account: JoggAccount, now: datetime) -> dict:
    """The submission state for /readyz and operators."""
    reason = blocked_by(account, now)
    state = {"submissions": "paused" if account.paused_reason else ("cooling_down" if reason else "flowing")}
    if account.paused_reason:
        state.update(reason=account.paused_reason, detail=account.paused_detail, since=account.paused_at.isoformat())
    return state
