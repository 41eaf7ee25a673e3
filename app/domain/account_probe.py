"""Checking, while submissions are paused, whether JoggAI would take them again: claim a probe, ask, settle.

The caller commits the claim before asking JoggAI (no transaction is held over the call, and the
claim moves the next probe on for every other process), then commits the settlement.
"""

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from app.domain import account as accounts
from app.jogg import BadCredentials, JoggClient, JoggError
from app.models.types import utcnow

log = logging.getLogger(__name__)


def claim(session: Session, interval: float) -> tuple[str | None, bool]:
    """(the pause reason, whether a probe is due now); a due probe moves the next one on by interval."""
    account = accounts.load(session, lock=True)
    now = utcnow()
    if not account.paused_reason or (account.next_probe_at and account.next_probe_at > now):
        return account.paused_reason, False
    account.next_probe_at = now + timedelta(seconds=interval)
    return account.paused_reason, True


def ask(client: JoggClient) -> int | None:
    """The credit JoggAI says is left, or None when it still refuses the key or cannot answer (logged)."""
    try:
        return client.remaining_quota()
    except BadCredentials as exc:
        log.error("JoggAI key still refused: %s", exc)
    except JoggError as exc:
        log.warning("could not probe JoggAI: %s", exc)
    return None


def settle(session: Session, reason: str, quota: int | None) -> str | None:
    """Resume submissions when JoggAI's answer allows it; returns the state (the pause reason, or None)."""
    if quota is None:
        return reason
    if reason == accounts.OUT_OF_CREDIT and quota < accounts.MIN_CREDITS_TO_RESUME:
        log.error("JoggAI credit still too low (%d left); submissions stay paused", quota)
        return reason
    accounts.resume(session)
    return None
