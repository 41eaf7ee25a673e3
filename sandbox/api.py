"""JoggAI's /v2 routes: thin handlers over SandboxState, answering in the {code, msg, data, rid} envelope."""

from __future__ import annotations

import contextlib
import socket
import uuid
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox.avatars import AvatarQuery
from sandbox.codes import (
    INVALID_API_KEY,
    MESSAGES,
    NO_PERMISSION,
    OK,
    SYSTEM_ERROR,
    ApiError,
    http_status,
)
from sandbox.endpoints import EVENTS
from sandbox.motions import created_view
from sandbox.state import SandboxState, rate_headers
from sandbox.voices import VoiceQuery

bp = Blueprint("jogg_v2", __name__, url_prefix="/v2")


def sandbox_state() -> SandboxState:
    """The state object of the running app."""
    return current_app.extensions["sandbox"]


def reply(data: Any = None, code: int = OK, msg: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """Wrap `data` in JoggAI's envelope, with the HTTP status the knobs call for."""
    g.jogg_code = code
    body = {
        "code": code,
        "msg": msg or MESSAGES.get(code, "error"),
        "data": data if code == OK else None,
        "rid": uuid.uuid4().hex,
    }
    response = jsonify(body)
    response.status_code = http_status(code, sandbox_state().config.errors_as_http_200)
    response.headers.update(headers or {})
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    """Every business error leaves through the envelope."""
    return reply(code=error.code, msg=error.msg, headers=error.headers)


@bp.before_request
def check_caller() -> None:
    """API key, then permission, then (for POSTs) the rate limit, as JoggAI orders them."""
    state = sandbox_state()
    api_key = request.headers.get("x-api-key", "")
    if api_key not in state.config.api_keys():
        raise ApiError(INVALID_API_KEY)
    if state.config.permission_denied:
        raise ApiError(NO_PERMISSION)
    if request.method == "POST":
        g.admission = state.admit_post(api_key)


@bp.after_request
def count_answer(response: Response) -> Response:
    """Tally the answer and add rate-limit headers when that knob is on."""
    state = sandbox_state()
    admission = g.get("admission")
    if admission is not None and state.config.rate_limit_headers:
        response.headers.update(rate_headers(admission, state.config))
    state.stats.response(g.get("jogg_code"), response.status_code)
    return response


@bp.post("/photo_avatar/add_motion")
def add_motion() -> Response:
    """Start a motion, unless a fault knob decides otherwise."""
    state = sandbox_state()
    body = request.get_json(silent=True, force=True)
    state.stats.add_motion_call(body.get("name") if isinstance(body, dict) else None)
    fault = state.submit_fault()
    if fault == "error":
        return gateway_error(state.config.error_status)
    if fault == "business":
        raise ApiError(SYSTEM_ERROR)
    if fault == "hang_before":
        state.hang("hangs_before_create")  # as if the request never reached JoggAI: nothing is created
        return drop_connection()
    motion = state.create_motion(body)
    if fault == "hang":
        state.hang()  # the motion exists: the caller cannot tell, which is the point
    if fault == "drop_after":
        state.stats.bump("drops_after_create")
        return drop_connection()  # the motion exists, the answer is lost
    return reply(created_view(motion, state.config))


@bp.get("/avatars/photo_avatars")
def photo_avatars() -> Response:
    """The account's photo avatars, paged, filtered by name (a search) and status."""
    return reply(sandbox_state().photo_avatars(AvatarQuery.from_args(request.args)))


def drop_connection() -> Response:
    """Close the client's connection without an answer (what a crashed proxy or a cut network does)."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    return Response(status=HTTPStatus.GATEWAY_TIMEOUT)  # only reaches a client when there is no socket to cut


@bp.get("/photo_avatar")
def motion_status() -> Response:
    """The status check (not rate limited)."""
    return reply(sandbox_state().motion_status(request.args.get("motion_id")))


@bp.get("/user/remaining_quota")
def remaining_quota() -> Response:
    """Credits left."""
    return reply({"remaining_quota": sandbox_state().remaining_quota()})


@bp.get("/voices")
def voices() -> Response:
    """The voice library, paged: `voices` and `has_more`."""
    return reply(sandbox_state().voices(VoiceQuery.from_args(request.args)))


@bp.get("/voices/custom")
def custom_voices() -> Response:
    """The account's custom voices, paged like the library."""
    return reply(sandbox_state().custom_voices(VoiceQuery.from_args(request.args)))


@bp.post("/endpoint")
def create_endpoint() -> Response:
    """Register a webhook endpoint; the answer shows its secret."""
    endpoint = sandbox_state().create_endpoint(request.get_json(silent=True, force=True))
    return reply(endpoint.view())


@bp.get("/endpoints")
def list_endpoints() -> Response:
    """Every endpoint, each with its secret (as JoggAI's list does)."""
    return reply([endpoint.view() for endpoint in sandbox_state().endpoints()])


@bp.put("/endpoint/<endpoint_id>")
def update_endpoint(endpoint_id: str) -> Response:
    """Change an endpoint's url, events or status."""
    body = request.get_json(silent=True, force=True)
    return reply(sandbox_state().update_endpoint(endpoint_id, body).view())


@bp.delete("/endpoint/<endpoint_id>")
def delete_endpoint(endpoint_id: str) -> Response:
    """Remove an endpoint."""
    sandbox_state().delete_endpoint(endpoint_id)
    return reply({"endpoint_id": endpoint_id})


@bp.get("/events")
def list_events() -> Response:
    """The event names an endpoint may subscribe to."""
    return reply(list(EVENTS))


def gateway_error(status: int) -> Response:
    """What a proxy in front of a failing backend sends: an HTML page, not an envelope."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    page = f"<html><head><title>{status} {phrase}</title></head><body><h1>{phrase}</h1></body></html>"
    return Response(page, status=status, mimetype="text/html")


def http_error(error: HTTPException) -> tuple[dict[str, Any], int]:
    """Unknown routes and wrong methods answer JSON too."""
    status = error.code or 500
    body = {"code": status, "msg": error.description, "data": None, "rid": uuid.uuid4().hex}
    return body, status
