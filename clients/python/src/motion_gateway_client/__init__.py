"""Python client for the motion-gateway API: motions, the event feed, and verified callbacks."""

from motion_gateway_client.async_client import AsyncClient
from motion_gateway_client.batch import BatchResult
from motion_gateway_client.calls import UNSET
from motion_gateway_client.client import Client
from motion_gateway_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ExternalIdTaken,
    IdempotencyInFlight,
    IdempotencyMismatch,
    IllegalTransition,
    InvalidCallback,
    MotionGatewayError,
    NotFound,
    QuotaExceeded,
    ServerError,
    TransportFailed,
    Unauthorized,
    UnexpectedResponse,
    ValidationFailed,
    WaitTimedOut,
)
from motion_gateway_client.feed import AsyncEventFeed, EventFeed
from motion_gateway_client.models import (
    TERMINAL_STATUSES,
    Delivery,
    DeliveryAttempt,
    Event,
    Motion,
    MotionError,
    Quota,
    StatusChange,
    Usage,
    UsageItem,
)
from motion_gateway_client.retrying import RetryPolicy
from motion_gateway_client.webhooks import verify_callback

__version__ = "0.1.0"
__all__ = [
    "UNSET",
    "TERMINAL_STATUSES",
    "ApiError",
    "AsyncClient",
    "AsyncEventFeed",
    "BadRequest",
    "BatchResult",
    "Client",
    "Conflict",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "EventFeed",
    "ExternalIdTaken",
    "IdempotencyInFlight",
    "IdempotencyMismatch",
    "IllegalTransition",
    "InvalidCallback",
    "Motion",
    "MotionError",
    "MotionGatewayError",
    "NotFound",
    "Quota",
    "QuotaExceeded",
    "RetryPolicy",
    "ServerError",
    "StatusChange",
    "TransportFailed",
    "Unauthorized",
    "UnexpectedResponse",
    "Usage",
    "UsageItem",
    "ValidationFailed",
    "WaitTimedOut",
    "verify_callback",
]
