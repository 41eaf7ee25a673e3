"""A Flask blueprint that receives callbacks: verifies each one and hands its Event to your function.

    from motion_gateway_client.flask import callback_blueprint
    app.register_blueprint(callback_blueprint(SECRET, handle_event, path="/hooks/motions"))

Needs Flask (`pip install "motion-gateway-client[flask]"`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from flask import Blueprint, Response, json, request

from motion_gateway_client.errors import InvalidCallback
from motion_gateway_client.models import Event
from motion_gateway_client.webhooks import DEFAULT_TOLERANCE, verify_callback

log = logging.getLogger(__name__)


def callback_blueprint(
    secret: str | Sequence[str],
    on_event: Callable[[Event], object],
    *,
    name: str = "motion_gateway_callbacks",
    path: str = "/callbacks/motion-gateway",
    tolerance: float = DEFAULT_TOLERANCE,
) -> Blueprint:
    """A blueprint answering POST `path`: 401 for a callback that fails verification, else on_event(event) and 204.

    If on_event raises, Flask answers 500 and the service retries the callback later (same event id), so
    on_event should de-duplicate on event.id and raise only for failures worth a retry.
    """
    blueprint = Blueprint(name, __name__)

    @blueprint.post(path)
    def receive() -> Response:
        """Verify the raw body and headers, then hand the event over."""
        try:
            event = verify_callback(request.headers, request.get_data(cache=False), secret, tolerance=tolerance)
        except InvalidCallback as exc:
            log.warning("refused a motion-gateway callback: %s", exc)
            return _refusal(str(exc))
        on_event(event)
        return Response(status=204)

    return blueprint


def _refusal(reason: str) -> Response:
    """A 401 problem+json saying why the callback was not accepted."""
    body = {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": reason}
    return Response(json.dumps(body), status=401, mimetype="application/problem+json")
