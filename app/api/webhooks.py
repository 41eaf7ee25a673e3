"""POST /webhooks/jogg: verify JoggAI's signature on the raw body, store the event, acknowledge at once."""

import functools
from enum import StrEnum

from flask import Blueprint, Response, current_app, jsonify, request

from app import metrics
from app.api.auth import Credential, Refusal
from app.api.json_input import whole_body
from app.api.problems import problem
from app.database import unit_of_work
from app.domain import jogg_webhooks
from app.extensions import db

blp = Blueprint("webhooks", __name__)


class Receipt(StrEnum):
    """What became of a webhook (the `result` label of mg_jogg_webhooks_total)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@blp.post("/webhooks/jogg")
def receive_jogg_webhook():
    """Verified events are stored (or counted as duplicates) and answered 200; the work happens in a job."""
    raw = whole_body(request, cache=False)  # the exact bytes JoggAI signed; nothing is parsed before verifying
    signature = request.headers.get("X-Webhook-Signature")
    if not _signed_by_jogg(raw, signature):
        return _refuse(signature)
    parsed = jogg_webhooks.parse(raw, request.headers.get("X-Webhook-Event"))
    with unit_of_work() as session:
        state, duplicate = jogg_webhooks.store(session, raw, parsed)
    metrics.WEBHOOKS.labels(Receipt.DUPLICATE if duplicate else Receipt.ACCEPTED).inc()
    return jsonify(received=True, duplicate=duplicate, state=state)


def _signed_by_jogg(raw: bytes, signature: str | None) -> bool:
    """Whether a configured webhook secret (current or previous) signed these bytes; reads only."""
    settings = current_app.config["SETTINGS"]
    configured = (settings.jogg_webhook_secret, settings.jogg_webhook_secret_old)
    stamp = functools.partial(jogg_webhooks.secrets_stamp, current_app.extensions["redis"])
    return jogg_webhooks.verify(db.session, raw, signature, configured, stamp)


def _refuse(signature: str | None) -> Response:
    """Count the refusal and answer 401; the verification's reads end here."""
    db.session.rollback()
    metrics.WEBHOOKS.labels(Receipt.REJECTED).inc()
    metrics.AUTH_FAILURES.labels(Credential.WEBHOOK_SIGNATURE, _refusal_reason(signature)).inc()
    return problem(401, "Unauthorized", "missing or invalid X-Webhook-Signature", "bad-signature")


def _refusal_reason(signature: str | None) -> Refusal:
    """Why a signature was refused, for /metrics: missing, malformed (not 64 lowercase hex digits) or mismatch."""
    if not signature:
        return Refusal.MISSING
    return Refusal.MISMATCH if jogg_webhooks.signature_shape(signature) else Refusal.MALFORMED
