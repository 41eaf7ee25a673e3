"""Idempotency keys: the first response to a keyed request, kept for replay."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, UTCDateTime, utcnow


class IdempotencyKey(db.Model):
    """A caller's Idempotency-Key, in flight or holding the response to replay."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_caller_key", "caller_id", "key", unique=True),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
        Index("ix_idempotency_keys_created_at", "created_at"),  # retention: keys past keeping, whatever their expiry
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    motion_id: Mapped[str | None] = mapped_column(String(32))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def in_flight(self) -> bool:
        """True while the first request with this key has not finished."""
        return self.response_status is None
