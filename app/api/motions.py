"""The caller API for motions: /v1/motions and its sub-resources."""

from flask import Response, current_app, g, json, request, url_for
from flask.views import MethodView
from marshmallow import RAISE

from app.api.auth import require_caller, require_valid_input
from app.api.openapi import PROBLEM, Blueprint
from app.api.schemas import IdempotencyHeaderSchema, MotionCreateSchema, MotionListQuerySchema, WaitQuerySchema
from app.domain import idempotency, motions
from app.extensions import db
from app.shapes import MotionEventListSchema, MotionPageSchema, MotionSchema, motion_schema

blp = Blueprint("motions", __name__, url_prefix="/v1/motions", description="Submit and follow motions")
blp.before_request(require_caller)
blp.before_request(require_valid_input)

CREATE_EXAMPLE = {
    "image_url": "https://example.com/avatar.png",
    "name": "Demo",
    "voice_id": "en-US-JennyNeural",
    "model": "2.0",
}
CREATED_HEADERS = {
    "Location": {"description": "The motion's URL", "schema": {"type": "string"}, "required": True},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response to an earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


@blp.route("")
class MotionCollection(MethodView):
    """Create and list motions."""

    @blp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
    @blp.arguments(MotionCreateSchema, example=CREATE_EXAMPLE)
    @blp.response(202, MotionSchema, description="Accepted and queued", headers=CREATED_HEADERS)
    @blp.alt_response(400, response=PROBLEM[400])
    @blp.alt_response(409, response=PROBLEM[409])  # external_id already used (names motion_id), or key in flight
    @blp.alt_response(413, response=PROBLEM[413])
    @blp.alt_response(415, response=PROBLEM[415])
    def post(self, data, idempotency_key=None):
        """Accept a motion request; it is queued for submission to JoggAI."""
        status, body, replayed = _accept(data, idempotency_key)
        response = Response(body, status=status, mimetype="application/json")
        response.headers["Location"] = url_for("motions.MotionItem", motion_id=json.loads(body)["id"])
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @blp.arguments(MotionListQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, MotionPageSchema)
    def get(self, query):
        """List this caller's motions, newest first."""
        limit, cursor = query.pop("limit"), query.pop("cursor", None)
        page = motions.list_motions(db.session, g.caller.id, query, limit, cursor)
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<motion_id>")
class MotionItem(MethodView):
    """One motion."""

    @blp.arguments(WaitQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, MotionSchema)
    @blp.alt_response(404, response=PROBLEM[404])
    def get(self, query, motion_id):
        """Read a motion; with ?wait=N, hold up to N seconds for its status to change."""
        if query.get("wait"):
            return motions.wait_for_change(db.session, g.caller.id, motion_id, query["wait"])
        return motions.get_motion(db.session, g.caller.id, motion_id)


@blp.post("/<motion_id>/cancel")
@blp.response(200, MotionSchema)
@blp.alt_response(404, response=PROBLEM[404])
@blp.alt_response(409, response=PROBLEM[409])
def cancel(motion_id):
    """Cancel a queued motion (409 once it has been submitted)."""
    motion = motions.cancel_motion(db.session, g.caller.id, motion_id)
    db.session.commit()
    return motion


@blp.post("/<motion_id>/retry")
@blp.response(202, MotionSchema)
@blp.alt_response(404, response=PROBLEM[404])
@blp.alt_response(409, response=PROBLEM[409])
def retry(motion_id):
    """Queue a failed motion again (409 unless it failed)."""
    motion = motions.retry_motion(db.session, g.caller.id, motion_id)
    db.session.commit()
    return motion


@blp.get("/<motion_id>/events")
@blp.response(200, MotionEventListSchema)
@blp.alt_response(404, response=PROBLEM[404])
def events(motion_id):
    """The motion's status history, oldest first."""
    return {"items": motions.motion_events(db.session, g.caller.id, motion_id)}


def _accept(data: dict, key: str | None) -> tuple[int, str, bool]:
    """Create the motion, honouring an Idempotency-Key; returns status, JSON body, replayed."""
    if key is None:
        motion = motions.create_motion(db.session, g.caller, data)
        body = json.dumps(motion_schema.dump(motion))
        db.session.commit()
        return 202, body, False
    ttl = current_app.config["SETTINGS"].idempotency_ttl
    fingerprint = idempotency.request_hash(request.get_json())
    claim = idempotency.reserve(db.session, g.caller.id, key, fingerprint, ttl)
    if isinstance(claim, idempotency.Replay):
        return claim.status, claim.body, True
    try:
        motion = motions.create_motion(db.session, g.caller, data)
        body = json.dumps(motion_schema.dump(motion))
        idempotency.complete(claim, motion.id, 202, body)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        idempotency.release(db.session, claim)
        raise
    return 202, body, False
