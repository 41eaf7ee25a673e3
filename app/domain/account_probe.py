"""Checking, while submissions are paused, whether JoggAI would take them again."""

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from app.domain import account as accounts
from app.jogg import BadCredentials, JoggClient, JoggError
from app.models.types import utcnow

log = logging.getLogger(__name__)


def probe(session: Session, client: JoggClient, interval: float) -> str | None:
    """If paused and a probe is due, ask JoggAI for the credit left and resume when it allows; returns the state."""
    account = accounts.load(session, lock=True)
    now = utcnow()
    if not account.paused_reason or (account.next_probe_at and account.next_probe_at > now):
        session.commit()
        return account.paused_reason
    reason = account.paused_reason
    account.next_probe_at = now + timedelta(seconds=interval)
    session.commit()
    try:
        quota = client.remaining_quota()
    except BadCredentials as exc:
        log.error("JoggAI key still refused: %s", exc)
        return reason
    except JoggError as exc:
        log.warning("could not probe JoggAI: %s", exc)
        return reason
    if reason == accounts.OUT_OF_CREDIT and quota < accounts.MIN_CREDITS_TO_RESUME:
        log.error("JoggAI credit still too low (%d left); submissions stay paused", quota)
        return reason
    accounts.resume(session)
    session.commit()
    return None
