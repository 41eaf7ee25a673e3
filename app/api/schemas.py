"""What the API accepts: the request bodies, query strings and headers it parses, and every rule on them."""

import functools
import json
from collections.abc import Callable
from datetime import UTC

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app import cursors
from app.api.json_input import value_depth
from app.cursors import BadCursor
from app.models import MODELS, Priority, Status
from app.notifications.url_safety import UnsafeCallbackUrl, check_syntax_only, image_url_refusal

DESCRIPTION_LIMIT_1_0 = 300  # bytes, exclusive: "under 300 bytes" for model 1.0
DESCRIPTION_LIMIT = 1500  # bytes, inclusive, for the other models
METADATA_LIMIT = 4096  # bytes of compact JSON
METADATA_DEPTH = 16  # the metadata object is level 1; each object or array inside it adds one
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
    reuse = fields.Boolean(
        load_default=False,
        metadata={"description": "reuse an identical completed motion of yours, or follow an identical queued one"},
    )

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
        reason = url and _image_url_refusal(url, current_app.config["SETTINGS"].image_allowed_networks)
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


@functools.lru_cache(maxsize=1024)
def _image_url_refusal(url: str, allowed: tuple[str, ...]) -> str | None:
    """image_url_refusal remembered per address: it reads no DNS, so its answer for a URL and allowlist holds."""
    return image_url_refusal(url, allowed)


BATCH_LIMIT = 100


class MotionBatchSchema(Schema):
    """The body of POST /v1/motions/batch: each item is checked on its own (MotionCreateSchema) by the handler."""

    class Meta:
        unknown = RAISE

    items = fields.List(
        fields.Raw(metadata={"type": "object", "description": "a motion request, as the body of POST /v1/motions"}),
        required=True,
        validate=validate.Length(min=1, max=BATCH_LIMIT),
    )


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
        """A timestamp converted to UTC; ValidationError if it falls out of range on the way."""
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError:
            raise ValidationError("is out of range once converted to UTC") from None


class CursorField(fields.String):
    """An opaque paging cursor, decoded by `position` (a reader of app/cursors.py) to where it points."""

    def __init__(self, position: Callable[[str], object], **kwargs):
        """Keep the reader that turns a cursor into where it points."""
        super().__init__(**kwargs)
        self.position = position

    def _deserialize(self, value, attr, data, **kwargs):
        """Where the cursor points; ValidationError if it is not one this service issued."""
        try:
            return self.position(super()._deserialize(value, attr, data, **kwargs))
        except BadCursor as exc:
            raise ValidationError(str(exc)) from None


class MotionListQuerySchema(Schema):
    """Filters and paging of GET /v1/motions."""

    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    external_id = _text(1, 255)
    created_after = UTCDateTimeField(default_timezone=UTC)
    created_before = UTCDateTimeField(default_timezone=UTC)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = CursorField(cursors.motion_position)


class EventFeedQuerySchema(Schema):
    """Query of GET /v1/events."""

    after = CursorField(cursors.feed_position)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
