"""Motions: add_motion validation, credit cost, lifecycle and the JSON views JoggAI returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.codes import parameter_error
from sandbox.config import SandboxConfig

MODELS = ("1.0", "2.0", "2.0-Pro", "3.0")
REQUIRED_FIELDS = ("image_url", "name", "voice_id", "model")
OPTIONAL_FIELDS = ("photo_id", "description", "welcome_msg")
PENDING_SHARE = 0.2  # a motion reads "pending" for the first fifth of its run, then "processing"
FAILURE = {"code": 50000, "message": "motion generation failed (sandbox)"}


@dataclass(frozen=True)
class MotionRequest:
    """A validated add_motion body."""

    image_url: str
    name: str
    voice_id: str
    model: str
    photo_id: str | None = None
    description: str | None = None
    welcome_msg: str | None = None

    @property
    def cost(self) -> int:
        """Credits JoggAI charges for this motion."""
        return 3 if self.model == "2.0-Pro" else 2


@dataclass
class Motion:
    """One add_motion job and when and how it ends."""

    motion_id: str
    avatar_id: int
    request: MotionRequest
    started_at: float  # time.monotonic()
    finish_at: float
    succeeds: bool
    status_checks: int = 0

    @classmethod
    def start(cls, request: MotionRequest, avatar_id: int, now: float, seconds: float, succeeds: bool) -> Motion:
        """A new motion that ends `seconds` after `now`."""
        return cls(uuid.uuid4().hex, avatar_id, request, now, now + seconds, succeeds)

    def phase(self, now: float) -> str:
        """pending, processing, completed or failed at monotonic time `now` (v2 words)."""
        if now >= self.finish_at:
            return "completed" if self.succeeds else "failed"
        pending_until = self.started_at + (self.finish_at - self.started_at) * PENDING_SHARE
        return "pending" if now < pending_until else "processing"


def validate_add_motion(body: Any) -> MotionRequest:
    """Check an add_motion body like JoggAI; the first problem raises a 40000 naming its field."""
    if not isinstance(body, dict):
        raise parameter_error("body", "must be a JSON object")
    for field in REQUIRED_FIELDS:
        if not isinstance(body.get(field), str) or not body[field].strip():
            raise parameter_error(field, "is required and must be a non-empty string")
    if not is_web_url(body["image_url"]):
        raise parameter_error("image_url", "must be an http or https URI")
    if body["model"] not in MODELS:
        raise parameter_error("model", f"must be one of {', '.join(MODELS)}")
    for field in OPTIONAL_FIELDS:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise parameter_error(field, "must be a string")
    check_description(body.get("description"), body["model"])
    known = {field: body.get(field) for field in REQUIRED_FIELDS + OPTIONAL_FIELDS}
    return MotionRequest(**known)


def is_web_url(text: str) -> bool:
    """An absolute http(s) URI with a host."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_description(description: str | None, model: str) -> None:
    """Under 300 bytes of UTF-8 for model 1.0, at most 1500 bytes for the others."""
    if description is None:
        return
    size = len(description.encode("utf-8"))
    if model == "1.0" and size >= 300:
        raise parameter_error("description", "must be under 300 bytes for model 1.0")
    if size > 1500:
        raise parameter_error("description", "must be at most 1500 bytes")


def public_status(phase: str, vocabulary: str) -> str:
    """Spell a phase in the configured vocabulary: v1 has no processing and says error."""
    if vocabulary == "v1":
        return {"processing": "pending", "failed": "error"}.get(phase, phase)
    return phase


def created_view(motion: Motion, config: SandboxConfig) -> dict[str, Any]:
    """add_motion's `data`; the v1 shape also carried avatar_id at once."""
    data: dict[str, Any] = {"motion_id": motion.motion_id, "status": "pending"}
    if config.v1_response:
        data["avatar_id"] = motion.avatar_id
    return data


def preview_url(motion: Motion, config: SandboxConfig) -> str:
    """Where the finished motion's mp4 would be."""
    return f"{config.preview_base_url.rstrip('/')}/{motion.motion_id}.mp4"


def status_view(motion: Motion, now: float, config: SandboxConfig) -> dict[str, Any]:
    """The status check's `data`."""
    phase = motion.phase(now)
    return {
        "motion_id": motion.motion_id,
        "avatar_id": motion.avatar_id,
        "image_url": motion.request.image_url,
        "name": motion.request.name,
        "status": public_status(phase, config.status_vocabulary),
        "motion_preview_url": preview_url(motion, config) if phase == "completed" else None,
        "voice_id": motion.request.voice_id,
        "error_msg": FAILURE["message"] if phase == "failed" else None,
    }


def event_data(motion: Motion, config: SandboxConfig) -> dict[str, Any]:
    """The `data` of the webhook sent when the motion ends."""
    return {
        "motion_id": motion.motion_id,
        "avatar_id": motion.avatar_id,
        "status": public_status("completed" if motion.succeeds else "failed", config.status_vocabulary),
        "motion_preview_url": preview_url(motion, config) if motion.succeeds else None,
        "error": None if motion.succeeds else dict(FAILURE),
    }
