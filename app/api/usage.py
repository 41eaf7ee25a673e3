"""GET /v1/usage: the calling caller's credits and motions per day and model, and its quota."""

import re
from datetime import date, timedelta

from flask import current_app, g
from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from app.api.auth import require_caller, require_valid_input
from app.api.openapi import Blueprint
from app.api.reads import get_reads_without_transaction
from app.domain import credits, usage
from app.extensions import db
from app.models.types import utcnow

blp = Blueprint("usage", __name__, url_prefix="/v1/usage", description="Credits spent, and the quota")
blp.before_request(get_reads_without_transaction)
blp.before_request(require_caller)
blp.before_request(require_valid_input)

MAX_DAYS = 366
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class DayField(fields.Field):
    """A UTC calendar day written YYYY-MM-DD, and nothing else."""

    def _deserialize(self, value, attr, data, **kwargs):
        """A day from its YYYY-MM-DD text; ValidationError saying what is wrong otherwise."""
        if not isinstance(value, str) or not DAY_PATTERN.fullmatch(value):
            raise ValidationError("a day is written YYYY-MM-DD")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value} is not a calendar day") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(f"a day from {FIRST_DAY} to {LAST_DAY}")
        return day

    def _serialize(self, value, attr, obj, **kwargs):
        """A day as YYYY-MM-DD."""
        return None if value is None else value.isoformat()


class UsageQuerySchema(Schema):
    """The days asked for: inclusive, UTC, at most MAX_DAYS; both default to the current month."""

    class Meta:
        unknown = RAISE

    from_ = DayField(data_key="from", metadata={"description": "first day, YYYY-MM-DD (UTC); default: the 1st"})
    to = DayField(metadata={"description": "last day, YYYY-MM-DD (UTC), inclusive; default: the month's last day"})

    @validates_schema
    def _in_order_and_bounded(self, data, **kwargs):
        """Refuse a from after to, or more than MAX_DAYS days."""
        first, last = days_asked(data)
        if first > last:
            raise ValidationError("from is after to", "from")
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationError(f"at most {MAX_DAYS} days at a time", "to")


class UsageItemSchema(Schema):
    """Motions and credits of one UTC day and model."""

    day = fields.String(metadata={"description": "YYYY-MM-DD (UTC)"})
    model = fields.String()
    motions = fields.Integer()
    credits = fields.Integer()


class QuotaSchema(Schema):
    """The caller's quota in its current period."""

    credits = fields.Integer(metadata={"description": "credits allowed per period"})
    period = fields.String(metadata={"description": "day or month (UTC)"})
    used = fields.Integer(metadata={"description": "credits charged in the current period"})
    reserved = fields.Integer(metadata={"description": "credits held back for queued motions"})
    resets_at = fields.DateTime(metadata={"description": "when the next period starts"})


class UsageSchema(Schema):
    """The answer of GET /v1/usage."""

    from_ = fields.String(data_key="from")
    to = fields.String()
    total_credits = fields.Integer()
    total_motions = fields.Integer()
    items = fields.List(fields.Nested(UsageItemSchema))
    quota = fields.Nested(QuotaSchema, allow_none=True)


def days_asked(query: dict) -> tuple[date, date]:
    """The first and last day asked for; a missing end defaults to the current UTC month's."""
    month_start = utcnow().date().replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    return query.get("from_", month_start), query.get("to", next_month - timedelta(days=1))


@blp.get("")
@blp.arguments(UsageQuerySchema, location="query", unknown=RAISE)
@blp.response(200, UsageSchema)
def get_usage(query):
    """This caller's credits and motions per UTC day and model (charged motions on their charge day, reused
    ones with 0 credits on their creation day), and its quota."""
    first, last = days_asked(query)
    body = usage.caller_usage(db.session, g.caller.id, first, last)
    status = credits.quota_status(db.session, g.caller, current_app.config["SETTINGS"].jogg_credit_costs, utcnow())
    body["quota"] = None if status is None else {
        "credits": status.credits, "period": status.period, "used": status.used,
        "reserved": status.reserved, "resets_at": status.resets_at,
    }  # fmt: skip
    db.session.rollback()  # read only
    body["from_"] = body.pop("from")
    return body
