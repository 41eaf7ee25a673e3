"""What callers are told: notification events, their deliveries to callback URLs, and each attempt."""

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, JSONType, UTCDateTime, utcnow


def new_public_id(prefix: str) -> str:
    """A fresh public id such as evt_... or dlv_..."""
    return f"{prefix}_{secrets.token_hex(12)}"


class EventType(StrEnum):
    """What a notification event tells a caller: the status its motion reached."""

    PROCESSING = "motion.processing"
    COMPLETED = "motion.completed"
    FAILED = "motion.failed"
    CANCELLED = "motion.cancelled"


class NotificationEvent(db.Model):
    """One thing a caller cares about (motion.processing, .completed, .failed, .cancelled), with a motion snapshot."""

    __tablename__ = "notification_events"
    __table_args__ = (
        Index("ix_notification_events_caller_id_id", "caller_id", "id"),
        Index("uq_notification_events_motion_sequence", "motion_id", "sequence", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_public_id("evt"))
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"))
    motion_id: Mapped[str] = mapped_column(ForeignKey("motions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryStatus(StrEnum):
    """Where a delivery is."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt used, or the URL may never be called
    STOPPED = "stopped"  # the receiver said 410 Gone, or its URL was disabled


class Delivery(db.Model):
    """One event on its way to one callback URL, retried on a schedule."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_deliveries_motion_id", "motion_id"),
        Index("ix_deliveries_event_id", "event_id"),  # ON DELETE CASCADE from notification_events (retention)
        Index("ix_deliveries_caller_created", "caller_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_public_id("dlv"))
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id", ondelete="CASCADE"))
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"))
    motion_id: Mapped[str] = mapped_column(ForeignKey("motions.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[NotificationEvent] = relationship(lazy="joined")
    attempt_log: Mapped[list["DeliveryAttempt"]] = relationship(order_by="DeliveryAttempt.id", lazy="selectin")


class DeliveryAttempt(db.Model):
    """One POST of a delivery and what came back."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("ix_delivery_attempts_delivery_id", "delivery_id"),
        Index("ix_delivery_attempts_at", "at"),  # retention: attempts past their keeping time
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_body: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallbackEndpoint(db.Model):
    """The health of one caller's callback URL: failing since when, disabled or not."""

    __tablename__ = "callback_endpoints"
    __table_args__ = (Index("uq_callback_endpoints_caller_url", "caller_id", "url", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"))
    url: Mapped[str] = mapped_column(String(2048))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
