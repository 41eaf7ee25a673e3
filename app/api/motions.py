"""The caller API for motions: /v1/motions and its sub-resources."""

from flask import Response, current_app, g, json, request, url_for
from flask.views import MethodView
from marshmallow import RAISE
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api import batch as batches
from app.api.auth import require_caller, require_valid_input
from app.api.openapi import PROBLEM, Blueprint
from app.api.problems import validation_problem
from app.api.reads import get_reads_without_transaction
from app.api.schemas import (
    IdempotencyHeaderSchema,
    MotionBatchSchema,
    MotionCreateSchema,
    MotionListQuerySchema,
    WaitQuerySchema,
)
from app.database import unit_of_work
from app.domain import idempotency, motions
from app.extensions import db
from app.models import IdempotencyKey
from app.shapes import MotionBatchResultSchema, MotionEventListSchema, MotionPageSchema, MotionSchema, motion_json

blp = Blueprint("motions", __name__, url_prefix="/v1/motions", description="Submit and follow motions")
blp.before_request(get_reads_without_transaction)
blp.before_request(require_caller)
blp.before_request(require_valid_input)

CREATE_EXAMPLE = {
    "image_url": "https://example.com/avatar.png",
    "name": "Demo",
    "voice_id": "en-US-JennyNeural",
    "model": "2.0",
}
# Schema instances, built once: a class would be instantiated again for every request.
MOTION_CREATE, IDEMPOTENCY_HEADER = MotionCreateSchema(), IdempotencyHeaderSchema()
REPLAY_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response to an earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
CREATED_HEADERS = {
    "Location": {"description": "The motion's URL", "schema": {"type": "string"}, "required": True},
    **REPLAY_HEADER,
}


@blp.route("")
class MotionCollection(MethodView):
    """Create and list motions."""

    @blp.arguments(IDEMPOTENCY_HEADER, location="headers", as_kwargs=True)
    @blp.arguments(MOTION_CREATE, example=CREATE_EXAMPLE)
    @blp.response(202, MotionSchema, description="Accepted and queued", headers=CREATED_HEADERS)
    @blp.alt_response(400, response=PROBLEM[400])
    @blp.alt_response(409, response=PROBLEM[409])  # external_id already used (names motion_id), or key in flight
    @blp.alt_response(413, response=PROBLEM[413])
    @blp.alt_response(429, response=PROBLEM[429])
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


@blp.post("/batch")
@blp.arguments(IDEMPOTENCY_HEADER, location="headers", as_kwargs=True)
@blp.arguments(MotionBatchSchema(), example={"items": [CREATE_EXAMPLE, {**CREATE_EXAMPLE, "model": "9.9"}]})
@blp.response(200, MotionBatchResultSchema, description="One result per item, in order", headers=REPLAY_HEADER)
@blp.alt_response(400, response=PROBLEM[400])
@blp.alt_response(409, response=PROBLEM[409])  # key in flight, or an external_id taken concurrently
@blp.alt_response(413, response=PROBLEM[413])
@blp.alt_response(415, response=PROBLEM[415])
def batch(data, idempotency_key=None):
    """Accept up to 100 motion requests in one transaction; each item is accepted (202) or refused (4xx) alone.

    Quotas count the accepted items in order; `Idempotency-Key` covers the whole batch.
    """
    try:
        batches.unstorable_per_item(g.get("unstorable") or {})
    except batches.UnstorableOutsideItems:
        return validation_problem(g.unstorable)
    status, body, replayed = _once(idempotency_key, lambda session: _create_batch(session, data["items"]))
    response = Response(body, status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


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
    with unit_of_work() as session:
        return motions.cancel_motion(session, g.caller.id, motion_id)


@blp.post("/<motion_id>/retry")
@blp.response(202, MotionSchema)
@blp.alt_response(404, response=PROBLEM[404])
@blp.alt_response(409, response=PROBLEM[409])
def retry(motion_id):
    """Queue a failed motion again (409 unless it failed)."""
    with unit_of_work() as session:
        return motions.retry_motion(session, g.caller.id, motion_id)


@blp.get("/<motion_id>/events")
@blp.response(200, MotionEventListSchema)
@blp.alt_response(404, response=PROBLEM[404])
def events(motion_id):
    """The motion's status history, oldest first."""
    return {"items": motions.motion_events(db.session, g.caller.id, motion_id)}


def _accept(data: dict, key: str | None) -> tuple[int, str, bool]:
    """Create the motion, honouring an Idempotency-Key; returns status, JSON body, replayed."""
    return _once(key, lambda session: _create(session, data))


def _once(key: str | None, work) -> tuple[int, str, bool]:
    """Run `work(session) -> (status, motion id or None, body)` in one transaction, at most once per Idempotency-Key."""
    if key is None:
        with unit_of_work() as session:
            status, _, body = work(session)
            return status, body, False
    claim = _claim_key(key)
    if isinstance(claim, idempotency.Replay):
        return claim.status, claim.body, True
    return *_work_once(claim, work), False


def _claim_key(key: str) -> IdempotencyKey | idempotency.Replay:
    """Step 1 of a keyed request: hold the key, or find the response to replay."""
    ttl = current_app.config["SETTINGS"].idempotency_ttl
    fingerprint = idempotency.request_hash(request.get_json())
    for _ in range(idempotency.CLAIM_TRIES):
        try:
            # Commit the claim before the work: a concurrent duplicate must see the key in flight.
            with unit_of_work() as session:
                claim = idempotency.claim(session, g.caller.id, key, fingerprint, ttl)
        except IntegrityError:  # a concurrent request inserted the key first: look again
            continue
        if claim is not None:
            return claim
    raise idempotency.in_flight(key)


def _work_once(claim: IdempotencyKey, work) -> tuple[int, str]:
    """Step 2 of a keyed request: do the work and store its response together, or give the key back."""
    try:
        # Commit the work with the response to replay: a repeat finds both or neither.
        with unit_of_work() as session:
            status, motion_id, body = work(session)
            idempotency.complete(claim, motion_id, status, body)
    except BaseException:
        # Commit the release at once, whatever failed: a retry of this request must run again.
        with unit_of_work() as session:
            idempotency.release(session, claim)
        raise
    return status, body


def _intake(session: Session) -> motions.Intake:
    """Start accepting motions for the calling caller (its quota locked and counted)."""
    return motions.start_intake(session, g.caller, current_app.config["SETTINGS"])


def _create(session: Session, data: dict) -> tuple[int, str, str]:
    """Create one motion (flushed); its status code, id and JSON body."""
    motion = motions.create_motion(session, g.caller, data, _intake(session))
    return 202, motion.id, json.dumps(motion_json(motion))


def _create_batch(session: Session, items: list) -> tuple[int, None, str]:
    """Accept a batch's items (flushed together); status 200, no single motion id, the JSON body."""
    return 200, None, batches.body(batches.accept_all(session, _intake(session), items))
