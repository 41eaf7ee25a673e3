"""An operator's interventions on one motion: look at everything about it, requeue it, fail it."""

import logging
from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app import nudges
from app.domain.errors import IllegalTransition, NotFound
from app.domain.text import require_storable, unstorable_reason
from app.domain.transitions import transition
from app.models import Delivery, JoggEvent, Motion, MotionEvent, Source, Status

log = logging.getLogger(__name__)

SOURCE = Source.OPERATOR
FAILED_BY_OPERATOR = "failed_by_operator"


def show(session: Session, motion_id: str) -> dict:
    """The motion's fields, status history, callback deliveries and JoggAI webhook events, ready for JSON."""
    motion = _load(session, motion_id)
    history = list(
        session.scalars(select(MotionEvent).where(MotionEvent.motion_id == motion.id).order_by(MotionEvent.id))
    )
    deliveries = session.scalars(select(Delivery).where(Delivery.motion_id == motion.id).order_by(Delivery.id))
    return {
        "motion": {attr.key: _plain(getattr(motion, attr.key)) for attr in inspect(Motion).column_attrs},
        "events": [_event(event) for event in history],
        "deliveries": [_delivery(delivery) for delivery in deliveries],
        "jogg_events": [_jogg_event(event) for event in _jogg_events(session, motion, history)],
    }


def requeue(session: Session, motion_id: str, reason: str) -> Motion:
    """Send a failed motion back to the queue, or release a queued one whose submission is in doubt.

    Releasing an uncertain submission is not a status change (the motion stays queued); it is recorded
    in the history as a queued -> queued event with source operator, and logged at WARNING. It may make
    JoggAI create (and charge) a second motion if the first POST did reach it: the operator's call. So the
    first POST's in-doubt charge stays and the re-POST is charged again once accepted (or in doubt), as a retry
    from failed is; only the service's own resubmit after the grace (app.domain.doubt.act) carries it over.
    """
    require_storable("the reason", reason)
    motion = _load(session, motion_id, lock=True)
    if motion.status == Status.QUEUED and motion.submission_uncertain_at is not None:
        motion.submission_uncertain_at = motion.submit_started_at = motion.dispatched_at = None
        motion.submission_evidence = motion.next_poll_at = motion.next_submit_at = motion.charged_at = None
        nudges.ask_dispatch(session, checked=motion.preflight_at is not None)
        detail = {"action": "released an uncertain submission for resubmission", "reason": reason,
                  "charge": "the first POST's charge stays; the re-POST is charged again"}  # fmt: skip
        session.add(MotionEvent(motion_id=motion.id, from_status=Status.QUEUED, to_status=Status.QUEUED,
                                source=SOURCE, detail=detail))  # fmt: skip
        log.warning("motion %s: uncertain submission released for resubmission by an operator: %s", motion.id, reason)
        return motion
    transition(session, motion, Status.QUEUED, SOURCE, {"reason": reason, "previous_error": motion.error})
    return motion


def fail(session: Session, motion_id: str, reason: str) -> Motion:
    """Fail a queued or processing motion on an operator's word."""
    require_storable("the reason", reason)
    motion = _load(session, motion_id, lock=True)
    previous_error = motion.error
    # Set before the transition, so the notification snapshot callers receive carries the error.
    motion.error = {"code": FAILED_BY_OPERATOR, "message": reason, "jogg_code": None}
    try:
        transition(session, motion, Status.FAILED, SOURCE, {"reason": reason, "error": motion.error})
    except IllegalTransition:
        motion.error = previous_error
        raise
    motion.next_poll_at = None
    return motion


def _load(session: Session, motion_id: str, lock: bool = False) -> Motion:
    """The motion with this id (any caller's), or NotFound."""
    stored = unstorable_reason(motion_id) is None  # no motion id holds a NUL or a lone surrogate
    motion = session.get(Motion, motion_id, with_for_update=lock, populate_existing=True) if stored else None
    if motion is None:
        raise NotFound(f"no motion {motion_id!r}")
    return motion


def _jogg_events(session: Session, motion: Motion, history: list[MotionEvent]) -> list[JoggEvent]:
    """Webhook events for every JoggAI id this motion has had (a requeue clears the current one)."""
    ids = {motion.jogg_motion_id} | {(e.detail or {}).get("jogg_motion_id") for e in history}
    ids.discard(None)
    if not ids:
        return []
    return list(session.scalars(select(JoggEvent).where(JoggEvent.jogg_motion_id.in_(ids)).order_by(JoggEvent.id)))


def _event(event: MotionEvent) -> dict:
    """One status change."""
    return {
        "at": _plain(event.at),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "source": event.source,
        "detail": event.detail,
    }


def _delivery(delivery: Delivery) -> dict:
    """One callback delivery and how many times it was tried."""
    return {
        "id": delivery.public_id,
        "event_type": delivery.event.type,
        "sequence": delivery.sequence,
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "created_at": _plain(delivery.created_at),
        "finished_at": _plain(delivery.finished_at),
    }


def _jogg_event(event: JoggEvent) -> dict:
    """One stored JoggAI webhook, without its raw body."""
    return {
        "event": event.event,
        "event_id": event.event_id,
        "jogg_motion_id": event.jogg_motion_id,
        "state": event.state,
        "outcome": event.outcome,
        "duplicates": event.duplicates,
        "received_at": _plain(event.received_at),
        "processed_at": _plain(event.processed_at),
    }


def _plain(value):
    """A JSON-ready value: timestamps as ISO 8601."""
    return value.isoformat() if isinstance(value, datetime) else value
