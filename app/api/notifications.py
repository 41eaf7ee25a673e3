"""The caller API for notifications: delivery history, redelivery and the pull feed."""

from flask import current_app, g
from marshmallow import RAISE

from app.api.auth import require_caller, require_valid_input
from app.api.openapi import PROBLEM, Blueprint
from app.api.reads import get_reads_without_transaction
from app.api.schemas import EventFeedQuerySchema
from app.database import unit_of_work
from app.domain import notification_history as history
from app.extensions import db
from app.shapes import DeliveryListSchema, DeliverySchema, EventFeedSchema

blp = Blueprint("notifications", __name__, url_prefix="/v1", description="Callback deliveries and the event feed")
blp.before_request(get_reads_without_transaction)
blp.before_request(require_caller)
blp.before_request(require_valid_input)


@blp.get("/motions/<motion_id>/deliveries")
@blp.response(200, DeliveryListSchema)
@blp.alt_response(404, response=PROBLEM[404])
def motion_deliveries(motion_id):
    """Every callback delivery of the motion, with each attempt."""
    return {"items": history.deliveries_of(db.session, g.caller.id, motion_id)}


@blp.post("/deliveries/<delivery_id>/redeliver")
@blp.response(202, DeliverySchema)
@blp.alt_response(404, response=PROBLEM[404])
def redeliver(delivery_id):
    """Send that notification again now (a new delivery of the same event, same webhook-id)."""
    with unit_of_work() as session:
        return history.redeliver(session, g.caller.id, delivery_id)


@blp.get("/events")
@blp.arguments(EventFeedQuerySchema, location="query", unknown=RAISE)
@blp.response(200, EventFeedSchema)
def events(query):
    """This caller's notification events in order; pass next_cursor as `after` to resume."""
    lag = current_app.config["SETTINGS"].events_feed_lag
    items, cursor = history.events_after(db.session, g.caller.id, query.get("after", 0), query["limit"], lag)
    return {"items": items, "next_cursor": cursor}
