"""Typed results: the Motion, its history, callback deliveries and notification events, read from JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class MalformedResource(ValueError):
    """A JSON document that does not have the shape of the resource it should be."""


def _text(raw: dict[str, Any], key: str) -> str:
    """A required string field."""
    value = raw.get(key)
    if not isinstance(value, str):
        raise MalformedResource(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _optional_text(raw: dict[str, Any], key: str) -> str | None:
    """An optional string field."""
    return None if raw.get(key) is None else _text(raw, key)


def _integer(raw: dict[str, Any], key: str) -> int:
    """A required integer field (a bool is not one)."""
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedResource(f"{key!r} must be an integer, not {type(value).__name__}")
    return value


def _optional_integer(raw: dict[str, Any], key: str) -> int | None:
    """An optional integer field."""
    return None if raw.get(key) is None else _integer(raw, key)


def _optional_bool(raw: dict[str, Any], key: str) -> bool:
    """An optional boolean field (absent: false)."""
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise MalformedResource(f"{key!r} must be a boolean, not {type(value).__name__}")
    return value


def _day(raw: dict[str, Any], key: str) -> date:
    """A required YYYY-MM-DD day."""
    try:
        return date.fromisoformat(_text(raw, key))
    except ValueError:
        raise MalformedResource(f"{key!r} is not a YYYY-MM-DD day") from None


def _moment(raw: dict[str, Any], key: str) -> datetime:
    """A required ISO 8601 timestamp with its zone."""
    text = _text(raw, key)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise MalformedResource(f"{key!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise MalformedResource(f"{key!r} has no time zone")
    return moment


def _optional_moment(raw: dict[str, Any], key: str) -> datetime | None:
    """An optional ISO 8601 timestamp."""
    return None if raw.get(key) is None else _moment(raw, key)


def _object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object, or MalformedResource."""
    if not isinstance(value, dict):
        raise MalformedResource(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _objects(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of JSON objects."""
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise MalformedResource(f"{key!r} must be a list")
    return [_object(item, f"each of {key!r}") for item in value]


@dataclass(frozen=True)
class MotionError:
    """Why a motion failed: our code, a message, and JoggAI's business code if it gave one."""

    code: str
    message: str
    jogg_code: int | None

    @classmethod
    def from_dict(cls, raw: Any) -> MotionError:
        """Read an `error` object."""
        raw = _object(raw, "error")
        return cls(_text(raw, "code"), _optional_text(raw, "message") or "", _optional_integer(raw, "jogg_code"))


@dataclass(frozen=True)
class Motion:
    """A motion request and where it stands; `raw` keeps every field, also ones newer than this client."""

    id: str
    status: str
    image_url: str
    name: str
    voice_id: str
    model: str
    priority: str
    created_at: datetime
    updated_at: datetime
    photo_id: str | None = None
    description: str | None = None
    welcome_msg: str | None = None
    callback_url: str | None = None
    metadata: dict[str, Any] | None = None
    external_id: str | None = None
    jogg_motion_id: str | None = None
    avatar_id: int | None = None
    preview_url: str | None = None
    error: MotionError | None = None
    submitted_at: datetime | None = None
    completed_at: datetime | None = None
    credits: int | None = None
    reuse: bool = False
    reused_from: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        """True once the status is final (completed, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_dict(cls, raw: Any) -> Motion:
        """Read a Motion document."""
        raw = _object(raw, "a motion")
        metadata = raw.get("metadata")
        return cls(
            id=_text(raw, "id"),
            status=_text(raw, "status"),
            image_url=_text(raw, "image_url"),
            name=_text(raw, "name"),
            voice_id=_text(raw, "voice_id"),
            model=_text(raw, "model"),
            priority=_text(raw, "priority"),
            created_at=_moment(raw, "created_at"),
            updated_at=_moment(raw, "updated_at"),
            photo_id=_optional_text(raw, "photo_id"),
            description=_optional_text(raw, "description"),
            welcome_msg=_optional_text(raw, "welcome_msg"),
            callback_url=_optional_text(raw, "callback_url"),
            metadata=None if metadata is None else _object(metadata, "metadata"),
            external_id=_optional_text(raw, "external_id"),
            jogg_motion_id=_optional_text(raw, "jogg_motion_id"),
            avatar_id=_optional_integer(raw, "avatar_id"),
            preview_url=_optional_text(raw, "preview_url"),
            error=None if raw.get("error") is None else MotionError.from_dict(raw["error"]),
            submitted_at=_optional_moment(raw, "submitted_at"),
            completed_at=_optional_moment(raw, "completed_at"),
            credits=_optional_integer(raw, "credits"),
            reuse=_optional_bool(raw, "reuse"),
            reused_from=_optional_text(raw, "reused_from"),
            raw=raw,
        )


@dataclass(frozen=True)
class StatusChange:
    """One row of a motion's history: a status change, who made it and why."""

    at: datetime
    from_status: str | None
    to_status: str
    source: str
    detail: dict[str, Any] | None

    @classmethod
    def from_dict(cls, raw: Any) -> StatusChange:
        """Read one history row."""
        raw = _object(raw, "a history row")
        detail = raw.get("detail")
        return cls(
            _moment(raw, "at"),
            _optional_text(raw, "from_status"),
            _text(raw, "to_status"),
            _text(raw, "source"),
            None if detail is None else _object(detail, "detail"),
        )


@dataclass(frozen=True)
class Event:
    """A notification event, as callbacks and the pull feed carry it; `data` is the motion at that moment."""

    id: str
    type: str
    created_at: datetime
    sequence: int
    data: Motion
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        """Read an event document."""
        raw = _object(raw, "an event")
        return cls(
            _text(raw, "id"),
            _text(raw, "type"),
            _moment(raw, "created_at"),
            _integer(raw, "sequence"),
            Motion.from_dict(raw.get("data")),
            raw,
        )


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt to deliver a callback: when, the answer's status code or the error, how long it took."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None
    next_attempt_at: datetime | None

    @classmethod
    def from_dict(cls, raw: Any) -> DeliveryAttempt:
        """Read one attempt."""
        raw = _object(raw, "an attempt")
        return cls(
            _moment(raw, "at"),
            _optional_integer(raw, "status_code"),
            _optional_text(raw, "error"),
            _optional_integer(raw, "duration_ms"),
            _optional_moment(raw, "next_attempt_at"),
        )


@dataclass(frozen=True)
class Delivery:
    """One callback delivery of an event to a URL, with every attempt."""

    id: str
    event_id: str
    event_type: str
    sequence: int
    url: str
    status: str
    created_at: datetime
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    attempts: tuple[DeliveryAttempt, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Any) -> Delivery:
        """Read a delivery document."""
        raw = _object(raw, "a delivery")
        return cls(
            id=_text(raw, "id"),
            event_id=_text(raw, "event_id"),
            event_type=_text(raw, "event_type"),
            sequence=_integer(raw, "sequence"),
            url=_text(raw, "url"),
            status=_text(raw, "status"),
            created_at=_moment(raw, "created_at"),
            next_attempt_at=_optional_moment(raw, "next_attempt_at"),
            last_error=_optional_text(raw, "last_error"),
            finished_at=_optional_moment(raw, "finished_at"),
            attempts=tuple(DeliveryAttempt.from_dict(item) for item in _objects(raw, "attempts")),
            raw=raw,
        )


@dataclass(frozen=True)
class UsageItem:
    """Motions and credits of one UTC day and model."""

    day: date
    model: str
    motions: int
    credits: int

    @classmethod
    def from_dict(cls, raw: Any) -> UsageItem:
        """Read one usage row."""
        raw = _object(raw, "a usage item")
        return cls(_day(raw, "day"), _text(raw, "model"), _integer(raw, "motions"), _integer(raw, "credits"))


@dataclass(frozen=True)
class Quota:
    """The caller's credit quota in its current period: size, period (day or month), used, reserved, reset."""

    credits: int
    period: str
    used: int
    reserved: int
    resets_at: datetime

    @property
    def left(self) -> int:
        """Credits still free in this period (never below 0)."""
        return max(0, self.credits - self.used - self.reserved)

    @classmethod
    def from_dict(cls, raw: Any) -> Quota:
        """Read a `quota` object."""
        raw = _object(raw, "quota")
        return cls(
            _integer(raw, "credits"),
            _text(raw, "period"),
            _integer(raw, "used"),
            _integer(raw, "reserved"),
            _moment(raw, "resets_at"),
        )


@dataclass(frozen=True)
class Usage:
    """The caller's credits and motions per UTC day and model over [from_, to], and its quota (None: none)."""

    from_: date
    to: date
    total_credits: int
    total_motions: int
    items: tuple[UsageItem, ...] = ()
    quota: Quota | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Any) -> Usage:
        """Read a usage document."""
        raw = _object(raw, "usage")
        return cls(
            from_=_day(raw, "from"),
            to=_day(raw, "to"),
            total_credits=_integer(raw, "total_credits"),
            total_motions=_integer(raw, "total_motions"),
            items=tuple(UsageItem.from_dict(item) for item in _objects(raw, "items")),
            quota=None if raw.get("quota") is None else Quota.from_dict(raw["quota"]),
            raw=raw,
        )
