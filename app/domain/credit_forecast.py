"""JoggAI's remaining credits, the burn rate, the hours left, and the ERROR logged once per low-credit crossing.

The clock reads the balance (`claim`, then `JoggClient.remaining_quota` with no transaction open, then
`record`). The burn rate comes from the motions' own charges: credits spent per hour over the last
24 h, or over the time since the first spend when that is shorter, but at least 10 minutes. The rate
is kept in Redis next to the stored balance so /readyz and /metrics read both without asking JoggAI.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis, RedisError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.domain import account as accounts
from app.jogg import JoggClient, JoggError
from app.models import JoggAccount, Motion, Status

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
SHORTEST_WINDOW = timedelta(minutes=10)
READ_WHILE_ACTIVE = timedelta(seconds=50)  # under a minute, whatever the clock's jitter
READ_WHILE_IDLE = timedelta(minutes=15)
ACTIVE_AFTER_CHARGE = timedelta(minutes=10)
RATE_KEY = "motion-gateway:credits:per-hour"
RATE_TTL = 3600  # seconds: a rate nobody refreshed for an hour is not shown


@dataclass(frozen=True)
class Forecast:
    """The balance as last read, the burn rate, the hours it lasts at that rate, and whether that is too few."""

    remaining: int | None
    per_hour: float | None
    hours_left: float | None
    low: bool

    def as_dict(self) -> dict:
        """The `credits` block of /readyz and /ops."""
        return {"remaining": self.remaining, "per_hour": self.per_hour, "hours_left": self.hours_left, "low": self.low}

    def sentence(self) -> str:
        """What /ops says about it."""
        if self.remaining is None:
            return "JoggAI's remaining credits have not been read yet"
        if self.hours_left is None:
            return f"{self.remaining} credits left; none spent in the last 24 h"
        return f"{self.remaining} credits left; at the last 24 h rate, about {self.hours_left:.0f} hours left"


def burn_rate(session: Session, now: datetime) -> float:
    """Credits charged per hour over the last 24 h (since the first charge if later, but at least 10 minutes)."""
    first = session.scalar(select(func.min(Motion.charged_at)).where(Motion.charged_at >= now - WINDOW))
    if first is None:
        return 0.0
    window = min(max(now - first, SHORTEST_WINDOW), WINDOW)
    spent = session.scalar(select(func.coalesce(func.sum(Motion.credits), 0)).where(Motion.charged_at >= now - window))
    return round(int(spent) / (window / timedelta(hours=1)), 3)


def hours_left(remaining: int | None, per_hour: float | None) -> float | None:
    """How long the balance lasts at this rate; None when unknown or nothing is being spent (0 when none is left)."""
    if remaining is None:
        return None
    if remaining <= 0:
        return 0.0
    return round(remaining / per_hour, 1) if per_hour else None


def active(session: Session, now: datetime) -> bool:
    """Whether motions are being submitted: some wait in the queue, or a charge is recent."""
    recent = or_(Motion.status == Status.QUEUED, Motion.charged_at >= now - ACTIVE_AFTER_CHARGE)
    return session.scalar(select(Motion.id).where(recent).limit(1)) is not None


def claim(session: Session, now: datetime) -> bool:
    """Whether this process reads the balance now (then the read time moves on for every other process)."""
    interval = READ_WHILE_ACTIVE if active(session, now) else READ_WHILE_IDLE
    account = accounts.load(session, lock=True)
    if account.credits_read_at is not None and account.credits_read_at > now - interval:
        return False
    account.credits_read_at = now
    return True


def read_balance(client: JoggClient) -> int | None:
    """JoggAI's remaining credits, or None when it cannot answer now (logged; the stored balance stays)."""
    try:
        return client.remaining_quota()
    except JoggError as exc:
        log.warning("could not read JoggAI's remaining credits: %s", exc)
        return None


def record(session: Session, connection: Redis, remaining: int, now: datetime, low_hours: float) -> Forecast:
    """Store the balance and the rate; flip the low flag under the account's row lock, logging each crossing once."""
    per_hour = burn_rate(session, now)
    left = hours_left(remaining, per_hour)
    low = left is not None and left < low_hours
    account = accounts.load(session, lock=True)
    account.credits_remaining, account.credits_read_at = remaining, now
    if low and not account.credits_low:
        log.error("JoggAI credits low: %d left, %.1f per hour, about %.1f hours left (CREDIT_LOW_HOURS %g)",
                  remaining, per_hour, left, low_hours)  # fmt: skip
    elif account.credits_low and not low:
        log.warning("JoggAI credits no longer low: %d left, %.1f per hour", remaining, per_hour)
    account.credits_low = low
    keep_rate(connection, per_hour)
    return Forecast(remaining, per_hour, left, low)


def keep_rate(connection: Redis, per_hour: float) -> None:
    """Keep the rate for /readyz and /ops; a Redis failure only hides it until the next read."""
    try:
        connection.set(RATE_KEY, str(per_hour), ex=RATE_TTL)
    except RedisError as exc:
        log.warning("could not keep the credit burn rate in Redis: %s", exc.__class__.__name__)


def stored_rate(connection: Redis) -> float | None:
    """The rate kept at the last read, or None."""
    try:
        value = connection.get(RATE_KEY)
    except RedisError:
        return None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def current(account: JoggAccount, connection: Redis) -> Forecast:
    """The forecast from the stored balance and rate (no call to JoggAI)."""
    per_hour = stored_rate(connection)
    return Forecast(account.credits_remaining, per_hour, hours_left(account.credits_remaining, per_hour),
                    bool(account.credits_low))  # fmt: skip
