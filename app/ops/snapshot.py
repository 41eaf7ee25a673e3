"""What the operator page shows, gathered from SQL and Redis in one plain function."""

from datetime import datetime, timedelta
from itertools import islice

from limits.errors import StorageError
from redis import Redis, RedisError
from rq import Queue
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.budget import PostBudget
from app.domain import account, credit_forecast, usage
from app.domain.tracking import uncertain_submissions
from app.models import CallbackEndpoint, Caller, Motion, Status
from app.queues import ALL_QUEUES

UNAVAILABLE = "unavailable"
IN_DOUBT = "in doubt"  # a submission flagged: its POST got no answer
SUBMITTING = "submitting"  # a submission whose POST has begun and is not (yet) flagged
DAY = timedelta(hours=24)
HOUR = timedelta(hours=1)
LATEST_ERRORS = 10
IN_DOUBT_SHOWN = 50
REDIS_ERRORS = (RedisError, StorageError, OSError)


def snapshot(session: Session, redis_connection: Redis, post_budget: PostBudget, now: datetime) -> dict:
    """Everything the page shows, JSON-ready; Redis sections read "unavailable" when Redis fails."""
    return {
        "generated_at": now.isoformat(),
        "motions_24h": status_counts(session, now - DAY),
        "hourly": hourly_by_status(session, now),
        "jogg": account.describe(account.peek(session), now),
        "credits": credit_state(session, redis_connection),
        "credits_7d": usage.per_caller_by_day(session, now, 7),
        "post_budget": budget_in_use(post_budget),
        "queues": queue_depths(redis_connection),
        "oldest_queued": oldest_queued(session, now),
        "in_doubt": submissions_in_doubt(session, now),
        "failing_callbacks": failing_callbacks(session),
        "latest_errors": latest_errors(session),
    }


def credit_state(session: Session, redis_connection: Redis) -> dict:
    """JoggAI's remaining credits as last read, the burn rate, hours left, and the forecast sentence."""
    forecast = credit_forecast.current(account.peek(session), redis_connection)
    return {**forecast.as_dict(), "forecast": forecast.sentence()}


def status_counts(session: Session, since: datetime) -> dict:
    """Motions created since then, by current status (every status present), plus the total."""
    stmt = select(Motion.status, func.count()).where(Motion.created_at >= since).group_by(Motion.status)
    counts = {str(status): 0 for status in Status} | dict(session.execute(stmt).all())
    return {"by_status": counts, "total": sum(counts.values())}


def hourly_by_status(session: Session, now: datetime) -> dict:
    """24 clock-hour buckets (UTC), the last being the current hour, counting motions created in each by status."""
    first = now.replace(minute=0, second=0, microsecond=0) - HOUR * 23
    series = {str(status): [0] * 24 for status in Status}
    rows = session.execute(select(Motion.created_at, Motion.status).where(Motion.created_at >= first))
    for created_at, status in rows:
        bucket = min(int((created_at - first) / HOUR), 23)  # a clock running ahead lands in the current hour
        series.setdefault(status, [0] * 24)[bucket] += 1
    labels = [(first + HOUR * i).strftime("%H:%M") for i in range(24)]
    # JSON objects lose key order (Flask sorts keys), so the status order travels as a list.
    return {"labels": labels, "statuses": list(series), "series": series}


def budget_in_use(post_budget: PostBudget) -> dict | str:
    """JoggAI POSTs spent in the current window out of the window's size."""
    try:
        free = post_budget.free_slots()
    except REDIS_ERRORS:
        return UNAVAILABLE
    size = post_budget.size
    return {"in_use": size - free, "size": size, "window_seconds": post_budget.window_seconds}


def queue_depths(connection: Redis) -> dict | str:
    """Jobs waiting and jobs failed on each RQ queue."""
    try:
        return {name: _depth(Queue(name, connection=connection)) for name in ALL_QUEUES}
    except REDIS_ERRORS:
        return UNAVAILABLE


def _depth(queue: Queue) -> dict:
    """One queue's waiting and failed job counts."""
    return {"waiting": queue.count, "failed": queue.failed_job_registry.count}


def oldest_queued(session: Session, now: datetime) -> dict | None:
    """The motion that has waited longest for a submission slot, or None."""
    stmt = select(Motion.id, Motion.created_at).where(Motion.status == Status.QUEUED)
    row = session.execute(stmt.order_by(Motion.created_at, Motion.id).limit(1)).first()
    if row is None:
        return None
    age = int((now - row.created_at).total_seconds())
    return {"id": row.id, "created_at": row.created_at.isoformat(), "age_seconds": age}


def submissions_in_doubt(session: Session, now: datetime) -> list[dict]:
    """Queued motions whose POST got no answer (in doubt, or interrupted and not yet flagged), oldest first."""
    stmt = (
        select(Motion.id, Motion.name, Motion.submit_started_at, Motion.submission_uncertain_at)
        .where(*uncertain_submissions(), Motion.status == Status.QUEUED)
        .order_by(Motion.submit_started_at, Motion.id)
        .limit(IN_DOUBT_SHOWN)
    )
    return [
        {
            "id": row.id,
            "name": row.name,
            "state": IN_DOUBT if row.submission_uncertain_at else SUBMITTING,
            "age_seconds": int((now - (row.submission_uncertain_at or row.submit_started_at)).total_seconds()),
        }
        for row in session.execute(stmt)
    ]


def failing_callbacks(session: Session) -> list[dict]:
    """Callback URLs that are failing or disabled, with their caller's name."""
    stmt = (
        select(CallbackEndpoint, Caller.name)
        .join(Caller, Caller.id == CallbackEndpoint.caller_id)
        .where(or_(CallbackEndpoint.failing_since.is_not(None), CallbackEndpoint.disabled_at.is_not(None)))
        .order_by(CallbackEndpoint.failing_since, CallbackEndpoint.id)
    )
    return [_endpoint(endpoint, caller_name) for endpoint, caller_name in session.execute(stmt)]


def _endpoint(endpoint: CallbackEndpoint, caller_name: str) -> dict:
    """One failing endpoint as the page shows it."""
    return {
        "caller": caller_name,
        "url": endpoint.url,
        "failing_since": _iso(endpoint.failing_since),
        "disabled_at": _iso(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
    }


def latest_errors(session: Session) -> list[dict]:
    """The newest motion errors, most recently updated first."""
    stmt = select(Motion).where(Motion.error.is_not(None)).order_by(Motion.updated_at.desc(), Motion.id.desc())
    # A retry clears `error` to JSON null, which SQL sees as not NULL: those rows are skipped here.
    result = session.scalars(stmt.execution_options(yield_per=50))
    try:
        return [_error(motion) for motion in islice((m for m in result if m.error), LATEST_ERRORS)]
    finally:
        result.close()


def _error(motion: Motion) -> dict:
    """One motion's error as the page shows it."""
    error = motion.error or {}
    return {
        "motion_id": motion.id,
        "status": motion.status,
        "code": error.get("code"),
        "message": error.get("message"),
        "jogg_code": error.get("jogg_code"),
        "updated_at": _iso(motion.updated_at),
    }


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 or None."""
    return moment.isoformat() if moment else None
