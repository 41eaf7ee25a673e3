"""What a motion costs in JoggAI credits, and what a caller has spent and reserved in its quota period."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Caller, Motion, Status

PERIODS = ("day", "month")


@dataclass(frozen=True)
class QuotaStatus:
    """A caller's quota in the current period: its size, what was spent, what queued motions hold back."""

    credits: int
    period: str
    used: int
    reserved: int
    resets_at: datetime

    @property
    def room(self) -> int:
        """Credits still free for new motions in this period."""
        return self.credits - self.used - self.reserved


def cost(costs: dict[str, int], model: str) -> int:
    """Credits JoggAI charges for one motion of this model (JOGG_CREDIT_COSTS)."""
    return costs[model]


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC day or month holding `now`: its first instant and the first instant of the next one."""
    now = now.astimezone(UTC)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start.fromordinal(start.toordinal() + 1).replace(tzinfo=UTC)
    if period == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        year, month = divmod(start.month, 12)
        return start, start.replace(year=start.year + year, month=month + 1)
    raise ValueError(f"a quota period is one of {', '.join(PERIODS)}, not {period!r}")


def spent(session: Session, caller_id: int, since: datetime, until: datetime) -> int:
    """Credits charged to this caller's motions between two instants (a POST sent in that time)."""
    stmt = select(func.coalesce(func.sum(Motion.credits), 0)).where(
        Motion.caller_id == caller_id, Motion.charged_at >= since, Motion.charged_at < until
    )
    return int(session.scalar(stmt))


def reserved(session: Session, caller_id: int, costs: dict[str, int]) -> int:
    """Credits held back for this caller's queued motions that no POST has charged yet (followers cost nothing)."""
    stmt = (
        select(Motion.model, func.count())
        .where(
            Motion.caller_id == caller_id,
            Motion.status == Status.QUEUED,
            Motion.credits.is_(None),
            Motion.reused_from.is_(None),
        )
        .group_by(Motion.model)
    )
    return sum(cost(costs, model) * count for model, count in session.execute(stmt))


def quota_status(session: Session, caller: Caller, costs: dict[str, int], now: datetime) -> QuotaStatus | None:
    """The caller's quota as it stands now, or None when it has none."""
    if caller.quota_credits is None or caller.quota_period is None:
        return None
    start, resets_at = period_bounds(caller.quota_period, now)
    return QuotaStatus(
        credits=caller.quota_credits,
        period=caller.quota_period,
        used=spent(session, caller.id, start, resets_at),
        reserved=reserved(session, caller.id, costs),
        resets_at=resets_at,
    )
