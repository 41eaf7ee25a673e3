"""What callers see and redo of their notifications: delivery history, redelivery, the pull feed."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cursors import feed_cursor
from app.domain.errors import NotFound
from app.domain.motions import get_motion
from app.models import CallbackEndpoint, Delivery, DeliveryStatus, NotificationEvent
from app.models.types import utcnow


def deliveries_of(session: Session, caller_id: int, motion_id: str) -> list[Delivery]:
    """Every delivery of the caller's motion, with its attempts, oldest first."""
    get_motion(session, caller_id, motion_id)
    return list(session.scalars(select(Delivery).where(Delivery.motion_id == motion_id).order_by(Delivery.id)))


def redeliver(session: Session, caller_id: int, delivery_public_id: str) -> Delivery:
    """Send a delivery's event again now, as a new delivery with a fresh schedule (same webhook-id)."""
    original = session.scalars(select(Delivery).where(Delivery.public_id == delivery_public_id)).first()
    if original is None or original.caller_id != caller_id:
        raise NotFound(f"no delivery {delivery_public_id!r}")
    return _again(session, original)


def redeliver_failed(session: Session, caller_id: int, since: datetime) -> list[Delivery]:
    """Send again every delivery of the caller that failed or was stopped since a given time."""
    stmt = select(Delivery).where(
        Delivery.caller_id == caller_id,
        Delivery.status.in_((DeliveryStatus.FAILED, DeliveryStatus.STOPPED)),
        Delivery.created_at >= since,
    )
    return [_again(session, original) for original in session.scalars(stmt.order_by(Delivery.id)).all()]


def events_after(session: Session, caller_id: int, after: int, limit: int, lag: float) -> tuple[list, str | None]:
    """The caller's events in order after a position; the newest `lag` seconds wait so no commit is skipped."""
    visible_until = utcnow() - timedelta(seconds=lag)
    stmt = (
        select(NotificationEvent)
        .where(
            NotificationEvent.caller_id == caller_id,
            NotificationEvent.id > after,
            NotificationEvent.created_at <= visible_until,
        )
        .order_by(NotificationEvent.id)
        .limit(limit)
    )
    items = list(session.scalars(stmt))
    last = items[-1].id if items else after
    return items, feed_cursor(last)


def _again(session: Session, original: Delivery) -> Delivery:
    """A new pending delivery of the same event; an explicit redelivery re-enables the URL."""
    endpoint = session.scalars(
        select(CallbackEndpoint).where(
            CallbackEndpoint.caller_id == original.caller_id, CallbackEndpoint.url == original.url
        )
    ).first()
    if endpoint is not None and endpoint.disabled_at is not None:
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
    delivery = Delivery(
        event_id=original.event_id, caller_id=original.caller_id, motion_id=original.motion_id,
        sequence=original.sequence, url=original.url, next_attempt_at=utcnow(),
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    return delivery
