"""Recording follow-up work in the outbox, inside the caller's transaction."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.models import OutboxEntry
from app.models.types import utcnow

DISPATCH = "dispatch"
JOGG_EVENT = "jogg_event"


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
