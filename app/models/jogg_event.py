"""Webhook events received from JoggAI, stored raw before anything else happens to them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, UTCDateTime, utcnow


class EventState(StrEnum):
    """Where a stored event is in its processing."""

    RECEIVED = "received"
    APPLIED = "applied"
    IGNORED = "ignored"
    PARKED = "parked"  # its motion id is not known yet (the webhook beat our commit)


class JoggEvent(db.Model):
    """One verified JoggAI webhook delivery: the raw body, what it refers to, and what we did with it."""

    __tablename__ = "jogg_events"
    __table_args__ = (
        Index("uq_jogg_events_event_event_id", "event", "event_id", unique=True),
        Index("ix_jogg_events_state_received", "state", "received_at"),
        Index("ix_jogg_events_jogg_motion_id", "jogg_motion_id"),
        Index("ix_jogg_events_received_at", "received_at"),  # retention: raw webhooks past their keeping time
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    jogg_motion_id: Mapped[str | None] = mapped_column(String(64))
    raw_body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default=EventState.RECEIVED)
    outcome: Mapped[str | None] = mapped_column(String(500))
    duplicates: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(32))  # the processing job that holds (or last held) it
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its claim ends then, even if the job died
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
