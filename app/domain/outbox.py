"""Recording follow-up work in the outbox, inside the caller's transaction."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import OutboxEntry
from app.models.types import utcnow

DISPATCH = "dispatch"  # rows of this kind are no longer written; older ones are still honoured
JOGG_EVENT = "jogg_event"
NUDGE_KEY = "nudge_dispatch"


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


def nudge_dispatch(session: Session) -> None:
    """Ask for a dispatch soon after this transaction commits.

    No outbox row is needed: a queued motion is itself the durable record of work to do, and the clock
    dispatches every DISPATCH_INTERVAL anyway; the nudge only saves that wait.
    """
    session.info[NUDGE_KEY] = True
