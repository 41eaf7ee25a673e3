"""Notification events (what callers are told) and their deliveries, added with the status change that causes them."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import nudges
from app.models import Delivery, EventType, Motion, NotificationEvent, Status
from app.shapes import motion_json

EVENT_TYPES = {
    Status.PROCESSING: EventType.PROCESSING,
    Status.COMPLETED: EventType.COMPLETED,
    Status.FAILED: EventType.FAILED,
    Status.CANCELLED: EventType.CANCELLED,
}


def record(session: Session, motion: Motion, status: Status) -> NotificationEvent | None:
    """Add the event for reaching this status (if callers care) and a delivery to the motion's callback URL.

    The delivery asks for its callback job (app.nudges), sent once the transaction commits.
    """
    event_type = EVENT_TYPES.get(status)
    if event_type is None:
        return None
    last = select(func.max(NotificationEvent.sequence)).where(NotificationEvent.motion_id == motion.id)
    sequence = (session.scalar(last) or 0) + 1
    snapshot = motion_json(motion)  # the caller-facing shape of the motion, frozen at this moment
    event = NotificationEvent(
        caller_id=motion.caller_id, motion_id=motion.id, type=event_type, sequence=sequence, data=snapshot
    )
    session.add(event)
    if motion.callback_url:
        delivery = Delivery(caller_id=motion.caller_id, motion_id=motion.id, sequence=sequence, url=motion.callback_url)
        delivery.event = event
        session.add(delivery)
        session.flush()  # the delivery's id, for its job
        nudges.ask_deliveries(session, [delivery.id])  # its callback job, enqueued once this commits
    return event
