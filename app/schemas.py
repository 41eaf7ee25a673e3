"""Marshmallow schemas: every rule the API enforces on input, and the shape of every output."""

import json
from datetime import UTC

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.api.json_input import value_depth
from app.domain.motions import BadCursor, decode_cursor
from app.domain.transitions import SOURCES
from app.models import MODELS, Priority, Status
from app.notifications.history import BadFeedCursor
from app.notifications.history import decode_cursor as feed_decode
from app.notifications.url_safety import UnsafeCallbackUrl, check_syntax_only, image_url_refusal

DESCRIPTION_LIMIT_1_0 = 300  # bytes, exclusive: "under 300 bytes" for model 1.0
DESCRIPTION_LIMIT = 1500  # bytes, inclusive, for the other models
METADATA_LIMIT = 4096  # bytes of compact JSON
METADATA_DEPTH = 16  # the metadata object is level 1; each object or array inside it adds one
FEED_POSITION_LIMIT = 2**63  # feed positions are BIGINT sequence numbers
URL_LIMIT = 2048


def _http_url(require_tld: bool, **kwargs) -> fields.Url:
    """An absolute http(s) URL field of bounded length."""
    return fields.Url(
        schemes={"http", "https"}, require_tld=require_tld, validate=validate.Length(max=URL_LIMIT), **kwargs
    )


def _text(low: int, high: int, **kwargs) -> fields.String:
    """A string field with a length range."""
    return fields.String(validate=validate.Length(min=low, max=high), **kwargs)


class MotionCreateSchema(Schema):
    """The body of POST /v1/motions."""

    class Meta:
        unknown = RAISE

    image_url = _http_url(require_tld=False, required=True)  # hosts are checked by _image_url_is_reachable
    name = _text(1, 200, required=True)
    voice_id = _text(1, 128, required=True)
    model = fields.String(required=True, validate=validate.OneOf(MODELS))
    photo_id = _text(1, 255, allow_none=True)
    description = fields.String(allow_none=True)
    welcome_msg = _text(0, 1000, allow_none=True)
    callback_url = _http_url(require_tld=False, allow_none=True)
    meta = fields.Dict(data_key="metadata", allow_none=True)
    external_id = _text(1, 255, allow_none=True)
    priority = fields.String(load_default=Priority.NORMAL.value, validate=validate.OneOf([p.value for p in Priority]))

    @validates_schema
    def _description_fits_model(self, data, **_):
        """The description byte limit depends on the model."""
        description, model = data.get("description"), data.get("model")
        if description is None or model is None:
            return
        size = len(description.encode("utf-8"))
        if model == "1.0" and size >= DESCRIPTION_LIMIT_1_0:
            raise ValidationError(f"must be under {DESCRIPTION_LIMIT_1_0} bytes (UTF-8) for model 1.0", "description")
        if size > DESCRIPTION_LIMIT:
            raise ValidationError(f"must be at most {DESCRIPTION_LIMIT} bytes (UTF-8)", "description")

    @validates_schema
    def _callback_url_may_be_called(self, data, **_):
        """Refuse at once what can never be called (link-local, metadata, private without the allowlist)."""
        url = data.get("callback_url")
        if url:
            try:
                check_syntax_only(url, current_app.config["SETTINGS"].callback_allowed_networks)
            except UnsafeCallbackUrl as exc:
                raise ValidationError(str(exc), "callback_url") from None

    @validates_schema
    def _image_url_is_reachable(self, data, **_):
        """JoggAI fetches image_url: refuse a host it cannot reach, unless IMAGE_ALLOWED_NETWORKS lists it."""
        url = data.get("image_url")
        reason = url and image_url_refusal(url, current_app.config["SETTINGS"].image_allowed_networks)
        if reason:
            raise ValidationError(reason, "image_url")

    @validates_schema
    def _metadata_fits(self, data, **_):
        """Metadata is a small JSON object, nested at most METADATA_DEPTH levels."""
        meta = data.get("meta")
        if meta is not None and value_depth(meta) > METADATA_DEPTH:
            raise ValidationError(f"must be nested at most {METADATA_DEPTH} levels deep", "metadata")
        if meta is not None and len(json.dumps(meta, separators=(",", ":")).encode()) > METADATA_LIMIT:
            raise ValidationError(f"must be at most {METADATA_LIMIT} bytes serialized", "metadata")


class IdempotencyHeaderSchema(Schema):
    """The optional Idempotency-Key request header."""

    class Meta:
        unknown = "exclude"

    idempotency_key = _text(1, 255, data_key="Idempotency-Key")


class WaitQuerySchema(Schema):
    """Query of GET /v1/motions/{id}."""

    class Meta:
        unknown = RAISE

    wait = fields.Float(
        validate=validate.Range(min=0, max=30), metadata={"description": "seconds to hold for a change"}
    )


class UTCDateTimeField(fields.AwareDateTime):
    """A timestamp with a zone (UTC when none is given), refused if it cannot be expressed in UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError:
            raise ValidationError("is out of range once converted to UTC") from None


class CursorField(fields.String):
    """An opaque listing cursor, decoded to the position it points at."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return decode_cursor(super()._deserialize(value, attr, data, **kwargs))
        except BadCursor as exc:
            raise ValidationError(str(exc)) from None


class FeedCursorField(fields.String):
    """An events-feed cursor, decoded to its position."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            position = feed_decode(super()._deserialize(value, attr, data, **kwargs))
        except BadFeedCursor as exc:
            raise ValidationError(str(exc)) from None
        if not 0 <= position < FEED_POSITION_LIMIT:
            raise ValidationError("cursor is not one this service issued")
        return position


class MotionListQuerySchema(Schema):
    """Filters and paging of GET /v1/motions."""

    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    external_id = _text(1, 255)
    created_after = UTCDateTimeField(default_timezone=UTC)
    created_before = UTCDateTimeField(default_timezone=UTC)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = CursorField()


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
    jogg_motion_id = fields.String(allow_none=True)
    avatar_id = fields.Integer(allow_none=True)
    preview_url = fields.String(allow_none=True)
    error = fields.Nested(MotionErrorSchema, allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class MotionPageSchema(Schema):
    """One page of motions."""

    items = fields.List(fields.Nested(MotionSchema))
    next_cursor = fields.String(allow_none=True)


class MotionEventSchema(Schema):
    """One status change in a motion's history."""

    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    source = fields.String(validate=validate.OneOf(SOURCES))
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


class EventFeedQuerySchema(Schema):
    """Query of GET /v1/events."""

    after = FeedCursorField()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class EventFeedSchema(Schema):
    """One page of the pull feed; pass next_cursor back as `after` to resume."""

    items = fields.List(fields.Nested(NotificationEventSchema))
    next_cursor = fields.String()


class ProblemSchema(Schema):
    """An RFC 9457 problem document (served as application/problem+json)."""

    type = fields.String(required=True, metadata={"description": "a URN naming the problem, or about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "validation problems only: each invalid field and what is wrong with it"},
    )
    motion_id = fields.String(metadata={"description": "a duplicate external_id only: the motion that has it"})


motion_schema = MotionSchema()
