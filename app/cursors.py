"""Opaque paging cursors: one base64url codec, one BadCursor, for the motion list and the event feed."""

import base64
import binascii
import json
from datetime import UTC, datetime

CURSOR_LIMIT = 256  # characters; the cursors we issue are about 100; also keeps json.loads far from its recursion limit
FEED_POSITION_LIMIT = 2**63  # feed positions are BIGINT sequence numbers
FEED_PREFIX = "e"


class BadCursor(ValueError):
    """A paging cursor that this service did not issue."""

    def __init__(self) -> None:
        """Say that the cursor is not one of ours."""
        super().__init__("cursor is not one this service issued")


def motion_cursor(created_at: datetime, motion_id: str) -> str:
    """The cursor pointing just past this motion in the newest-first list."""
    return _encode(json.dumps([created_at.isoformat(), motion_id]).encode())


def motion_position(cursor: str) -> tuple[datetime, str]:
    """The (created_at in UTC, motion id) a motion-list cursor points at, or BadCursor."""
    try:
        at, motion_id = json.loads(_decode(cursor))
        at = datetime.fromisoformat(at)
        if at.tzinfo is None or not isinstance(motion_id, str) or not motion_id.isascii() or "\x00" in motion_id:
            raise ValueError("not a position this service issued")
        return at.astimezone(UTC), motion_id
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadCursor() from exc


def feed_cursor(position: int) -> str:
    """The cursor for a position in the event feed."""
    return _encode(f"{FEED_PREFIX}{position}".encode())


def feed_position(cursor: str) -> int:
    """The event-feed position (0 <= position < 2**63) a feed cursor stands for, or BadCursor."""
    try:
        text = _decode(cursor).decode()
        if not text.startswith(FEED_PREFIX):
            raise ValueError("not a feed cursor")
        position = int(text[len(FEED_PREFIX) :])
    except ValueError as exc:  # UnicodeDecodeError is one
        raise BadCursor() from exc
    if not 0 <= position < FEED_POSITION_LIMIT:
        raise BadCursor()
    return position


def _encode(raw: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> bytes:
    """The bytes of a cursor of bounded length, or ValueError."""
    if len(cursor) > CURSOR_LIMIT:
        raise ValueError("cursor too long")
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except binascii.Error as exc:  # binascii.Error is a ValueError; named for the reader
        raise ValueError("not base64url") from exc
