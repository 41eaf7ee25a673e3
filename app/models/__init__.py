"""The SQL data model: every table the service keeps."""

from app.models.caller import Caller
from app.models.idempotency import IdempotencyKey
from app.models.jogg_account import ACCOUNT_ID, JoggAccount
from app.models.jogg_event import EventState, JoggEvent
from app.models.motion import FINAL_STATUSES, MODELS, Motion, MotionEvent, Priority, Source, Status
from app.models.notification import (
    CallbackEndpoint,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventType,
    NotificationEvent,
)

__all__ = [
    "ACCOUNT_ID",
    "EventState",
    "EventType",
    "FINAL_STATUSES",
    "JoggAccount",
    "JoggEvent",
    "MODELS",
    "CallbackEndpoint",
    "Caller",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "IdempotencyKey",
    "Motion",
    "MotionEvent",
    "NotificationEvent",
    "Priority",
    "Source",
    "Status",
]
