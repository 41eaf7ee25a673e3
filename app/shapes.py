"""What callers see: motions, their history, deliveries and notification events, as marshmallow output shapes.

Output only (nothing here validates input; see `app/api/schemas.py`), built from the models alone, so
that the state machine can freeze a motion's shape into a notification without touching the API.
"""

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import object_session

from app.models import Motion, Source, Status


def root_jogg_motion_id(motion: Motion) -> str | None:
    """JoggAI's motion id for a motion, read from its root when it reused one (see app/domain/reuse.py)."""
    if motion.jogg_motion_id or not motion.reused_from or motion.status != Status.COMPLETED:
        return motion.jogg_motion_id
    session = object_session(motion)
    root = session.get(Motion, motion.reused_from) if session is not None else None
    return root.jogg_motion_id if root is not None else None


class MotionErrorSchema(Schema):
    """A motion's error: our code, a message, and JoggAI's business code if it gave one."""

    code = fields.String()
    message = fields.String()
    jogg_code = fields.Integer(allow_none=True)


class MotionSchema(Schema):
    """A motion as callers see it."""

    id = fields.String()
    status = fields.String()
    image_url = fields.String()
    name = fields.String()
    voice_id = fields.String()
    model = fields.String()
    photo_id = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    welcome_msg = fields.String(allow_none=True)
    callback_url = fields.String(allow_none=True)
    meta = fields.Dict(data_key="metadata", allow_none=True)
    external_id = fields.String(allow_none=True)
    priority = fields.String()
    jogg_motion_id = fields.Function(root_jogg_motion_id, allow_none=True, metadata={"type": "string"})
    avatar_id = fields.Integer(allow_none=True)
    preview_url = fields.String(allow_none=True)
    error = fields.Nested(MotionErrorSchema, allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    credits = fields.Integer(
        allow_none=True, metadata={"description": "JoggAI credits: null until a POST was sent, 0 when reused"}
    )
    reuse = fields.Boolean(metadata={"description": "whether the request asked to reuse an identical motion"})
    reused_from = fields.String(
        allow_none=True, metadata={"description": "the identical motion this one reused or follows"}
    )


class MotionPageSchema(Schema):
    """One page of motions."""

    items = fields.List(fields.Nested(MotionSchema))
    next_cursor = fields.String(allow_none=True)


class MotionBatchItemSchema(Schema):
    """One item's result in a batch: the motion it created, or the problem that refused it."""

    status = fields.Integer(metadata={"description": "202 when accepted, else the 4xx the item alone would get"})
    motion = fields.Nested(MotionSchema)
    problem = fields.Dict(metadata={"description": "an RFC 9457 problem document (type, title, status, detail, ...)"})


class MotionBatchResultSchema(Schema):
    """The results of a batch, in the order of its items."""

    items = fields.List(fields.Nested(MotionBatchItemSchema))


class MotionEventSchema(Schema):
    """One status change in a motion's history."""

    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    source = fields.String(validate=validate.OneOf([source.value for source in Source]))
    detail = fields.Dict(allow_none=True)


class MotionEventListSchema(Schema):
    """A motion's status history."""

    items = fields.List(fields.Nested(MotionEventSchema))


class DeliveryAttemptSchema(Schema):
    """One attempt of a callback delivery."""

    at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)


class DeliverySchema(Schema):
    """A callback delivery and its attempts."""

    id = fields.String(attribute="public_id")
    event_id = fields.Function(lambda d: d.event.public_id)
    event_type = fields.Function(lambda d: d.event.type)
    sequence = fields.Integer()
    url = fields.String()
    status = fields.String()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    attempts = fields.List(fields.Nested(DeliveryAttemptSchema), attribute="attempt_log")


class DeliveryListSchema(Schema):
    """A motion's callback deliveries."""

    items = fields.List(fields.Nested(DeliverySchema))


class NotificationEventSchema(Schema):
    """A notification event, exactly as callbacks carry it."""

    id = fields.String(attribute="public_id")
    type = fields.String()
    created_at = fields.DateTime()
    sequence = fields.Integer()
    data = fields.Dict()


class EventFeedSchema(Schema):
    """One page of the pull feed; pass next_cursor back as `after` to resume."""

    items = fields.List(fields.Nested(NotificationEventSchema))
    next_cursor = fields.String()


motion_schema = MotionSchema()

_TEXT = ("id", "status", "image_url", "name", "voice_id", "model", "photo_id", "description", "welcome_msg",
         "callback_url")  # fmt: skip
_MORE_TEXT = ("external_id", "priority")
_TIMES = ("created_at", "updated_at", "submitted_at", "completed_at")


def motion_json(motion: Motion) -> dict:
    """MotionSchema's output, built directly for the paths that answer many motions (about 8x cheaper).

    MotionSchema stays the documented shape; tests/test_shapes.py holds the two equal.
    """
    out = {name: _text(getattr(motion, name)) for name in _TEXT}
    out["metadata"] = motion.meta
    out.update({name: _text(getattr(motion, name)) for name in _MORE_TEXT})
    out["jogg_motion_id"] = _text(root_jogg_motion_id(motion))
    out["avatar_id"], out["preview_url"] = _integer(motion.avatar_id), _text(motion.preview_url)
    out["error"] = _error(motion.error)
    out.update({name: _time(getattr(motion, name)) for name in _TIMES})
    out["credits"], out["reuse"], out["reused_from"] = _integer(motion.credits), motion.reuse, _text(motion.reused_from)
    return out


def _text(value) -> str | None:
    return None if value is None else str(value)


def _integer(value) -> int | None:
    return None if value is None else int(value)


def _time(value) -> str | None:
    return None if value is None else value.isoformat()


def _error(error: dict | None) -> dict | None:
    """MotionErrorSchema's output: the keys the error has, code and message as text, jogg_code as an integer."""
    if error is None:
        return None
    out = {name: _text(error[name]) for name in ("code", "message") if name in error}
    if "jogg_code" in error:
        out["jogg_code"] = _integer(error["jogg_code"])
    return out
