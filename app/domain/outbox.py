"""Recording follow-up work inside the caller's transaction: outbox rows, and nudges sent once it commits."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import OutboxEntry
from app.models.types import utcnow

DISPATCH = "dispatch"  # outbox rows of these kinds are no longer written; older ones are still honoured
JOGG_EVENT = "jogg_event"
NUDGES_KEY = "nudges"
NUDGE_DISPATCH, NUDGE_EVENTS = "dispatch", "jogg_events"


def record(
    session: Session,
    kind: str,
    motion_id: str | None = None,
    payload: dict | None = None,
    due_at: datetime | None = None,
) -> OutboxEntry:
    """Add an outbox row; it is enqueued only once the transaction commits."""
    entry = OutboxEntry(kind=kind, motion_id=motion_id, payload=payload, due_at=due_at or utcnow())
    session.add(entry)
    return entry


def nudge(session: Session, name: str) -> None:
    """Ask for the `name` job (NUDGE_DISPATCH or NUDGE_EVENTS) soon after this transaction commits.

    No outbox row is needed: the rows the job works on (queued motions, received webhook events) are
    themselves the durable record of the work, and the clock finds any a lost nudge left behind.
    """
    session.info.setdefault(NUDGES_KEY, set()).add(name)


def nudge_dispatch(session: Session) -> None:
    """Ask for a dispatch once committed (the clock dispatches every DISPATCH_INTERVAL anyway)."""
    nudge(session, NUDGE_DISPATCH)


def nudge_events(session: Session) -> None:
    """Ask for the stored JoggAI webhook events to be processed once committed."""
    nudge(session, NUDGE_EVENTS)
