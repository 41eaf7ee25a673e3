"""What the JoggAI client returns: submitted motions, motion status, webhook endpoints and voices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.jogg.errors import RetryableError, UnknownOutcome

SUCCESS_STATUSES = frozenset({"completed"})
FAILURE_STATUSES = frozenset({"failed", "error"})  # v2 says failed, v1 said error
AVATAR_ID_MAX = 2**31 - 1  # motions.avatar_id is a 32-bit integer column


@dataclass(frozen=True)
class AddMotionResult:
    """JoggAI accepted a motion: its id, its first status and (v1 only) the avatar id."""

    motion_id: str
    status: str
    avatar_id: int | None = None

    @classmethod
    def from_data(cls, data: Any) -> AddMotionResult:
        """Read add_motion's data; a success without a motion_id leaves the outcome unknown."""
        if not isinstance(data, dict) or not data.get("motion_id"):
            raise UnknownOutcome("add_motion answered success without a motion_id")
        return cls(str(data["motion_id"]), str(data.get("status") or "pending"), as_avatar_id(data.get("avatar_id")))


@dataclass(frozen=True)
class MotionStatus:
    """One status check; `raw` keeps JoggAI's data as it came."""

    motion_id: str
    status: str
    avatar_id: int | None
    preview_url: str | None
    error_msg: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_data(cls, data: Any, motion_id: str) -> MotionStatus:
        """Read the status check's data leniently (either preview key, error_msg or error.message)."""
        if not isinstance(data, dict):
            raise RetryableError("status check answered success without data")
        error = data.get("error")
        error_msg = data.get("error_msg") or (error.get("message") if isinstance(error, dict) else None)
        return cls(
            motion_id=str(data.get("motion_id") or motion_id),
            status=str(data.get("status") or "").strip().lower(),
            avatar_id=as_avatar_id(data.get("avatar_id")),
            preview_url=data.get("motion_preview_url") or data.get("preview_url") or None,
            error_msg=str(error_msg) if error_msg else None,
            raw=data,
        )

    def is_success(self) -> bool:
        """Finished with a preview: completed."""
        return self.status in SUCCESS_STATUSES

    def is_failure(self) -> bool:
        """Finished without one: failed (v2) or error (v1)."""
        return self.status in FAILURE_STATUSES

    def is_running(self) -> bool:
        """Anything else, including statuses JoggAI may add later."""
        return not (self.is_success() or self.is_failure())


@dataclass(frozen=True)
class Endpoint:
    """A registered webhook endpoint; JoggAI gives its `secret` on creation and in the endpoint list."""

    endpoint_id: str
    url: str | None = None
    events: tuple[str, ...] = ()
    status: str | None = None
    secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_data(cls, data: Any) -> Endpoint:
        """Read one endpoint object."""
        if not isinstance(data, dict) or not data.get("endpoint_id"):
            raise RetryableError("endpoint answer without an endpoint_id")
        events = data.get("events")
        return cls(
            endpoint_id=str(data["endpoint_id"]),
            url=data.get("url"),
            events=tuple(events) if isinstance(events, list) else (),
            status=data.get("status"),
            secret=data.get("secret"),
        )


def endpoint_list(data: Any) -> list[Endpoint]:
    """The endpoints list: a bare list, or a dict holding one under `endpoints`."""
    items = data.get("endpoints") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RetryableError("endpoint list answer is not a list")
    return [Endpoint.from_data(item) for item in items]


LIST_STATUSES = {0: "processing", 1: "completed", 2: "failed"}  # the photo-avatar list's codes


@dataclass(frozen=True)
class PhotoAvatar:
    """One entry of the photo-avatar list: its id, name and status (processing, completed or failed)."""

    avatar_id: int | str
    name: str
    status: str
    fail_msg: str | None = None

    @classmethod
    def from_data(cls, data: Any) -> PhotoAvatar | None:
        """Read one entry leniently (`id` or `avatar_id`; status 0/1/2 or words); None if it has no id."""
        if not isinstance(data, dict):
            return None
        avatar_id = data.get("id", data.get("avatar_id"))
        if avatar_id is None or isinstance(avatar_id, bool):
            return None
        raw_status = data.get("status")
        status = LIST_STATUSES.get(as_int(raw_status), str(raw_status or "").strip().lower())
        fail_msg = data.get("fail_msg")
        number = as_avatar_id(avatar_id)  # an id too wide to store stays a string: matched, never stored
        return cls(number if number is not None else str(avatar_id), str(data.get("name") or ""), status,
                   str(fail_msg) if fail_msg else None)  # fmt: skip

    def as_status(self) -> MotionStatus:
        """The entry as a status check would say it (no motion id, no preview URL: the list has neither)."""
        raw = {"avatar_id": self.avatar_id, "name": self.name, "status": self.status, "fail_msg": self.fail_msg}
        avatar_id = self.avatar_id if isinstance(self.avatar_id, int) else None
        return MotionStatus("", self.status, avatar_id, None, self.fail_msg, raw)


def avatar_page(data: Any) -> tuple[list[PhotoAvatar], int | None]:
    """A page of the list: its entries and the total JoggAI reports (None when it gives none)."""
    items = data
    if isinstance(data, dict):
        items = next(
            (data[key] for key in ("avatars", "photo_avatars", "list") if isinstance(data.get(key), list)), None
        )
    if not isinstance(items, list):
        raise RetryableError("photo-avatar list answer holds no list")
    entries = [entry for entry in (PhotoAvatar.from_data(item) for item in items) if entry is not None]
    return entries, as_int(data.get("total")) if isinstance(data, dict) else None


@dataclass(frozen=True)
class Voice:
    """One voice of JoggAI's library or of the account's custom (cloned) voices."""

    voice_id: str
    name: str = ""
    language: str = ""
    custom: bool = False

    @classmethod
    def from_data(cls, data: Any, custom: bool) -> Voice | None:
        """Read one entry leniently (`voice_id` or `id`); None if it has no usable id."""
        if not isinstance(data, dict):
            return None
        voice_id = data.get("voice_id", data.get("id"))
        if not isinstance(voice_id, str | int) or isinstance(voice_id, bool) or not str(voice_id).strip():
            return None
        return cls(str(voice_id), str(data.get("name") or ""), str(data.get("language") or ""), custom)


@dataclass(frozen=True)
class VoicePage:
    """A page of a voice list and whether JoggAI says more follow (None when it does not say)."""

    voices: list[Voice]
    has_more: bool | None
    total: int | None


def voice_page(data: Any, custom: bool) -> VoicePage:
    """A page of `GET /v2/voices` or `/v2/voices/custom`: `{voices, has_more?, total?}` or a bare list."""
    items = data.get("voices", data.get("list")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RetryableError("voice list answer holds no list")
    voices = [voice for voice in (Voice.from_data(item, custom) for item in items) if voice is not None]
    more = data.get("has_more") if isinstance(data, dict) else None
    total = as_int(data.get("total")) if isinstance(data, dict) else None
    return VoicePage(voices, more if isinstance(more, bool) else None, total)


def as_avatar_id(value: Any) -> int | None:
    """An avatar id as an int when it fits `motions.avatar_id` (a 32-bit column): 0 to AVATAR_ID_MAX; None otherwise.

    An id past it (a rude answer, or JoggAI's ids outgrowing 32 bits) would make every write of the motion fail.
    """
    number = as_int(value)
    return number if number is not None and 0 <= number <= AVATAR_ID_MAX else None


def as_int(value: Any) -> int | None:
    """An int from an int or a digit string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
