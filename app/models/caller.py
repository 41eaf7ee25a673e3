"""Callers: the internal services allowed to use the API."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Caller(db.Model):
    """A calling service, with its hashed API key and its callback signing secrets."""

    __tablename__ = "callers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    default_callback_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret: Mapped[str] = mapped_column(String(100))
    previous_webhook_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)
    weight: Mapped[int] = mapped_column(default=1, server_default="1")  # its share of POST slots, 1 to 100
    quota_credits: Mapped[int | None] = mapped_column()  # credits it may spend per quota_period; None: no quota
    quota_period: Mapped[str | None] = mapped_column(String(8))  # "day" or "month" (UTC)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        """The caller's id and name, for debugging."""
        return f"<Caller {self.id} {self.name!r}>"
