"""Motions (one add-motion request each) and their status history."""

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import BigId, JSONType, UTCDateTime, utcnow


class Status(StrEnum):
    """Where a motion is in its life."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Final statuses: nothing changes them unasked, and retention may delete motions in them.
FINAL_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class Priority(StrEnum):
    """How urgently a caller wants a motion submitted."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


MODELS = ("1.0", "2.0", "2.0-Pro", "3.0")


class Source(StrEnum):
    """Who caused a status change, as a motion's history records it."""

    API = "api"  # the caller, through the HTTP API
    WORKER = "worker"  # a job: submission, a timeout, a settled doubt
    WEBHOOK = "webhook"  # a JoggAI webhook event
    POLL = "poll"  # a status check against JoggAI
    OPERATOR = "operator"  # a person, through the CLI
    PREFLIGHT = "preflight"  # the checks before a POST: image and voice
    REUSE = "reuse"  # an identical motion's result, reused or followed


def new_motion_id() -> str:
    """A fresh public motion id."""
    return "mot_" + secrets.token_hex(12)


class Motion(db.Model):
    """One request to animate a photo avatar, and what JoggAI made of it."""

    __tablename__ = "motions"
    __table_args__ = (
        Index("ix_motions_caller_created", "caller_id", "created_at", "id"),
        Index("ix_motions_caller_status_created", "caller_id", "status", "created_at", "id"),
        Index("uq_motions_caller_external_id", "caller_id", "external_id", unique=True),
        Index("ix_motions_dispatch", "status", "caller_id", "priority", "created_at"),
        Index("ix_motions_status_next_poll", "status", "next_poll_at"),
        Index("uq_motions_jogg_motion_id", "jogg_motion_id", unique=True),
        Index("ix_motions_caller_content", "caller_id", "content_key", "status"),
        # quotas' sum and GET /v1/usage (credits, model) read a caller's period from the index alone (PostgreSQL)
        Index("ix_motions_caller_charged", "caller_id", "charged_at", postgresql_include=["credits", "model"]),
        Index("ix_motions_charged_at", "charged_at"),  # burn rate and /ops' 7-day chart: by time, all callers
        Index("ix_motions_reused_from", "reused_from"),
        Index("ix_motions_created_at", "created_at"),  # /ops: the last 24 h by status and hour, all callers
        Index("ix_motions_updated_at", "updated_at"),  # retention's oldest finished motions
        # /ops' newest errors: the few motions with one, by time (PostgreSQL and SQLite build it partial)
        Index(
            "ix_motions_error_updated",
            "updated_at",
            "id",
            postgresql_where=text("error IS NOT NULL"),
            sqlite_where=text("error IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_motion_id)
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"))
    status: Mapped[str] = mapped_column(String(16))
    image_url: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(200))
    voice_id: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(16))
    photo_id: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    welcome_msg: Mapped[str | None] = mapped_column(Text)
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    meta: Mapped[dict | None] = mapped_column("metadata", JSONType)
    external_id: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[str] = mapped_column(String(8), default=Priority.NORMAL)
    jogg_motion_id: Mapped[str | None] = mapped_column(String(64))
    avatar_id: Mapped[int | None] = mapped_column(Integer)
    preview_url: Mapped[str | None] = mapped_column(String(2048))
    error: Mapped[dict | None] = mapped_column(JSONType)
    submit_attempts: Mapped[int] = mapped_column(default=0)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submit_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_uncertain_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What JoggAI's photo-avatar list showed for this name around the last POST (app/domain/doubt.py).
    submission_evidence: Mapped[dict | None] = mapped_column(JSONType)
    next_submit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    poll_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Credits: the model's cost once a POST was sent (JoggAI charges on accept), 0 when reused, else None.
    credits: Mapped[int | None] = mapped_column(Integer)
    charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    preflight_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the checks before a POST passed
    reuse: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The identical motion whose result this one reused (completed) or follows (queued or processing).
    reused_from: Mapped[str | None] = mapped_column(ForeignKey("motions.id", ondelete="SET NULL"))
    content_key: Mapped[str | None] = mapped_column(String(64))  # a digest of the fields that make motions identical

    events: Mapped[list["MotionEvent"]] = relationship(
        back_populates="motion", order_by="MotionEvent.id", lazy="raise_on_sql"
    )

    def __repr__(self) -> str:
        """The motion's id and status, for debugging."""
        return f"<Motion {self.id} {self.status}>"


class MotionEvent(db.Model):
    """One status change of a motion: the history callers read."""

    __tablename__ = "motion_events"
    __table_args__ = (Index("ix_motion_events_motion_id_id", "motion_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    motion_id: Mapped[str] = mapped_column(ForeignKey("motions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict | None] = mapped_column(JSONType)

    motion: Mapped[Motion] = relationship(back_populates="events")
