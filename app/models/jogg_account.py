"""The state of our JoggAI account as the service sees it: paused or not, cooling down, whose turn it is."""

from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

ACCOUNT_ID = 1


class JoggAccount(db.Model):
    """One row: why submissions are paused, until when POSTs cool down, and the dispatcher's round-robin place."""

    __tablename__ = "jogg_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused_reason: Mapped[str | None] = mapped_column(String(32))
    paused_detail: Mapped[str | None] = mapped_column(String(500))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cooldown_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_caller_served: Mapped[int] = mapped_column(default=0)
    webhook_endpoint_id: Mapped[str | None] = mapped_column(String(100))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    previous_webhook_secret: Mapped[str | None] = mapped_column(String(200))
    credits_remaining: Mapped[int | None] = mapped_column()  # JoggAI's balance when last read
    credits_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credits_low: Mapped[bool] = mapped_column(default=False, server_default=false())  # under CREDIT_LOW_HOURS
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
