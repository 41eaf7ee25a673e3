"""JoggAI API client: JoggClient, its result types and its error classes (no Flask, nothing from app)."""

from app.jogg.client import JoggClient
from app.jogg.errors import (
    BadCredentials,
    BadRequest,
    JoggError,
    NoPermission,
    NoSuchRecord,
    OutOfCredit,
    RateLimited,
    RetryableError,
    UnknownOutcome,
)
from app.jogg.models import AddMotionResult, Endpoint, MotionStatus, PhotoAvatar

__all__ = [
    "AddMotionResult",
    "BadCredentials",
    "BadRequest",
    "Endpoint",
    "JoggClient",
    "JoggError",
    "MotionStatus",
    "NoPermission",
    "NoSuchRecord",
    "OutOfCredit",
    "PhotoAvatar",
    "RateLimited",
    "RetryableError",
    "UnknownOutcome",
]
