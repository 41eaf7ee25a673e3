"""What callers spent: credits and motions per day and model, for GET /v1/usage and `flask credits report`.

A motion counts once it has `credits`: a charged one (a POST was sent) on the UTC day of its
`charged_at`, a reused or following one (0 credits, no POST) on the UTC day it was created.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Subquery, func, select, union_all
from sqlalchemy.orm import Session

from app.models import Caller, Motion


@dataclass(frozen=True)
class UsageRow:
    """Motions and credits of one caller, UTC day and model."""

    caller: str
    day: str
    model: str
    motions: int
    credits: int


def day_start(day: date) -> datetime:
    """The first instant of a UTC day."""
    return datetime.combine(day, time(), tzinfo=UTC)


def counted(since: datetime, until: datetime, caller_id: int | None = None) -> Subquery:
    """Motions counted in [since, until) with the instant they count at: charged then, or created then at no cost.

    Two branches under UNION ALL, each a range on its own index: the charged one an index-only scan of
    ix_motions_caller_charged (credits and model included), where one OR of both ranges read each motion's row.
    """
    charged = select(Motion.caller_id, Motion.charged_at.label("at"), Motion.model, Motion.credits).where(
        Motion.credits.is_not(None), Motion.charged_at >= since, Motion.charged_at < until
    )
    free = select(Motion.caller_id, Motion.created_at.label("at"), Motion.model, Motion.credits).where(
        Motion.charged_at.is_(None), Motion.credits == 0, Motion.created_at >= since, Motion.created_at < until
    )
    if caller_id is not None:
        charged, free = charged.where(Motion.caller_id == caller_id), free.where(Motion.caller_id == caller_id)
    return union_all(charged, free).subquery("counted")


def _day_of(session: Session, moment: ColumnElement) -> ColumnElement:
    """The UTC day of a timestamp as YYYY-MM-DD text, in this database's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", moment)


def rows(session: Session, since: datetime, until: datetime, caller_id: int | None = None) -> list[UsageRow]:
    """Usage between two instants per caller, day and model (one caller's only when given), oldest day first."""
    found = counted(since, until, caller_id)
    day = _day_of(session, found.c.at).label("day")
    stmt = (
        select(Caller.name, day, found.c.model, func.count(), func.coalesce(func.sum(found.c.credits), 0))
        .join(Caller, Caller.id == found.c.caller_id)
        .group_by(Caller.name, day, found.c.model)
        .order_by(day, Caller.name, found.c.model)
    )
    return [UsageRow(name, str(d), model, int(n), int(c)) for name, d, model, n, c in session.execute(stmt)]


def caller_usage(session: Session, caller_id: int, first: date, last: date) -> dict:
    """GET /v1/usage without the quota: totals and items for the inclusive UTC days first..last."""
    found = rows(session, day_start(first), day_start(last + timedelta(days=1)), caller_id)
    items = [{"day": r.day, "model": r.model, "motions": r.motions, "credits": r.credits} for r in found]
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "total_credits": sum(r.credits for r in found),
        "total_motions": sum(r.motions for r in found),
        "items": items,
    }


def per_caller_by_day(session: Session, now: datetime, days: int) -> dict:
    """Credits per caller for each of the last `days` UTC days (today last), for the /ops chart."""
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    series: dict[str, list[int]] = {}
    for row in rows(session, day_start(first), day_start(now.astimezone(UTC).date() + timedelta(days=1))):
        series.setdefault(row.caller, [0] * days)[labels.index(row.day)] += row.credits
    return {"labels": labels, "callers": sorted(series), "series": series}
