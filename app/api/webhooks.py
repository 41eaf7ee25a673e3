"""POST /webhooks/jogg: verify JoggAI's signature on the raw body, store the event, acknowledge at once."""

import functools

from flask import Blueprint, current_app, jsonify, request

from app import metrics
from app.api.problems import problem
from app.domain import jogg_events
from app.extensions import db

blp = Blueprint("webhooks", __name__)


@blp.post("/webhooks/jogg")
def receive_jogg_webhook():
    """Verified events are stored (or counted as duplicates) and answered 200; the work happens in a job."""
    raw = request.get_data(cache=False)  # the exact bytes JoggAI signed; nothing is parsed before verifying
    settings = current_app.config["SETTINGS"]
    configured = (settings.jogg_webhook_secret, settings.jogg_webhook_secret_old)
    signature = request.headers.get("X-Webhook-Signature")
    stamp = functools.partial(jogg_events.secrets_stamp, current_app.extensions["redis"])
    if not jogg_events.verify(db.session, raw, signature, configured, stamp):
        db.session.rollback()
        metrics.WEBHOOKS.labels("rejected").inc()
        metrics.AUTH_FAILURES.labels("webhook_signature", _refusal_reason(signature)).inc()
        return problem(401, "Unauthorized", "missing or invalid X-Webhook-Signature", "bad-signature")
    parsed = jogg_events.parse(raw, request.headers.get("X-Webhook-Event"))
    event, duplicate = jogg_events.store(db.session, raw, parsed)
    metrics.WEBHOOKS.labels("duplicate" if duplicate else "accepted").inc()
    return jsonify(received=True, duplicate=duplicate, state=event.state)


def _refusal_reason(signature: str | None) -> str:
    """Why a signature was refused, for /metrics: missing, malformed (not 64 lowercase hex digits) or mismatch."""
    if not signature:
        return "missing"
    return "mismatch" if jogg_events.signature_shape(signature) else "malformed"
