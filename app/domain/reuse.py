"""Reuse: a motion identical to one of the same caller's takes that one's result instead of a new POST.

Identical means the same `content_key` (a digest of the fields JoggAI sees). A `completed` root younger
than REUSE_MAX_AGE is reused at once; a `queued` or `processing` root is followed: the new motion
waits (never dispatched) and ends as its leader ends (`transitions.py`). Only roots (motions with no
`reused_from`) are matched, so every reused motion points at the motion JoggAI made.
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.models import Motion, Status

CONTENT_FIELDS = ("image_url", "name", "voice_id", "model", "photo_id", "description", "welcome_msg")
RESULT_FIELDS = ("avatar_id", "preview_url")  # jogg_motion_id is unique per row: app/shapes.py reads it from the root


def content_key(data: dict) -> str:
    """The digest that makes two motion requests identical."""
    values = [data.get(name) for name in CONTENT_FIELDS]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()


def find_root(session: Session, caller_id: int, key: str, now: datetime, max_age: int) -> Motion | None:
    """The caller's identical motion to reuse (completed and young enough) or to follow (queued or processing)."""
    stmt = _roots(caller_id, [key], now, max_age).order_by(Motion.created_at.desc()).limit(1)
    return session.scalar(stmt.with_for_update())  # a leader finishing now commits first, and is found finished


def lock_roots(session: Session, caller_id: int, keys: Iterable[str], now: datetime, max_age: int) -> None:
    """Lock every root that these keys could reuse or follow, in id order, before any is found one by one.

    Two batches of one caller naming the same roots in a different order then wait for each other
    instead of each holding one root and waiting for the other's (a deadlock on PostgreSQL).
    """
    keys = sorted(set(keys))
    if keys:
        session.execute(
            _roots(caller_id, keys, now, max_age).with_only_columns(Motion.id).order_by(Motion.id).with_for_update()
        )


def _roots(caller_id: int, keys: list[str], now: datetime, max_age: int) -> Select:
    """The caller's roots with one of these keys that may be reused (completed and young enough) or followed."""
    young = Motion.completed_at >= now - timedelta(seconds=max_age)
    return (
        select(Motion)
        .where(Motion.caller_id == caller_id, Motion.content_key.in_(keys), Motion.reused_from.is_(None))
        .where(or_(Motion.status.in_((Status.QUEUED, Status.PROCESSING)), (Motion.status == Status.COMPLETED) & young))
    )


def followers(session: Session, leader: Motion) -> list[Motion]:
    """The queued motions following this one, locked."""
    stmt = select(Motion).where(Motion.reused_from == leader.id, Motion.status == Status.QUEUED).order_by(Motion.id)
    return list(session.scalars(stmt.with_for_update()))


def take_result(motion: Motion, root: Motion) -> None:
    """Copy the root's result onto a motion that reuses it; it cost nothing."""
    for name in RESULT_FIELDS:
        setattr(motion, name, getattr(root, name))
    motion.credits = 0
