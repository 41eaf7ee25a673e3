"""Quotas at intake: a caller may not queue motions whose cost would take it past its credits for the period."""

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain import credits
from app.domain.errors import DomainError
from app.models import Caller


class QuotaExceeded(DomainError):
    """Accepting this motion would take the caller past its quota for the period."""

    title = "Quota exceeded"
    slug = "quota-exceeded"
    status = 429

    def __init__(self, detail: str, retry_after: int, **extra):
        """A refusal with the seconds until the quota resets, sent as Retry-After."""
        super().__init__(detail, **extra)
        self.headers = {"Retry-After": str(retry_after)}


@dataclass
class Allowance:
    """What is left of a caller's quota while one request accepts motions (None: no quota)."""

    status: credits.QuotaStatus | None
    now: datetime
    taken: int = 0

    def take(self, cost: int) -> None:
        """Count a motion of this cost in, or raise QuotaExceeded and count nothing."""
        if self.status is None or cost == 0:
            return
        if self.taken + cost > self.status.room:
            raise self.refusal(cost)
        self.taken += cost

    def refusal(self, cost: int) -> QuotaExceeded:
        """The 429 for a motion of this cost."""
        quota = self.status
        reserved = quota.reserved + self.taken
        detail = (
            f"this motion costs {cost} credits; the quota is {quota.credits} credits per {quota.period}, "
            f"{quota.used} used and {reserved} reserved by queued motions; it resets at {quota.resets_at.isoformat()}"
        )
        wait = max(1, math.ceil((quota.resets_at - self.now).total_seconds()))
        return QuotaExceeded(detail, wait, quota=quota.credits, used=quota.used, reserved=reserved, period=quota.period)


def allowance(session: Session, caller, costs: dict[str, int], now: datetime) -> Allowance:
    """Lock the caller row, then count its quota: concurrent requests of one caller take turns from here to commit.

    `caller` is the request's (possibly cached, see `callers.KEY_CACHE_SECONDS`) view of the caller: one
    without a quota is not read again, so a quota set just now applies within those seconds. One with a
    quota is locked by an UPDATE, the first statement of the transaction, which also reads the quota as
    it is now: PostgreSQL holds the row until the commit, and SQLite takes its write lock before
    reading, so the counts cannot come from a stale snapshot.
    """
    if caller.quota_credits is None:
        return Allowance(None, now)
    stmt = (
        update(Caller)
        .where(Caller.id == caller.id)
        .values(quota_credits=Caller.quota_credits)
        .returning(Caller.id, Caller.quota_credits, Caller.quota_period)
    )
    current = session.execute(stmt).one()
    if current.quota_credits is None or current.quota_period is None:
        return Allowance(None, now)
    return Allowance(credits.quota_status(session, current, costs, now), now)
