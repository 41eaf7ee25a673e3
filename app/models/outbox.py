"""The outbox: work to do, committed with the state change that asked for it."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigId, JSONType, UTCDateTime, utcnow


class OutboxEntry(db.Model):
    """One piece of follow-up work; a job does it and marks it done."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "due_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
        Index("ix_outbox_motion_id", "motion_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    motion_id: Mapped[str | None] = mapped_column(ForeignKey("motions.id", ondelete="CASCADE"))
    payload: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)

    @property
    def job_id(self) -> str:
        """The RQ job id for this entry: deterministic, so a re-enqueue never doubles it."""
        return f"outbox-{self.id}"
