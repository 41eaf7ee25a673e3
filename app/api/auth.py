"""Bearer API-key authentication for every /v1 route."""

from flask import g, request

from app import logs
from app.api.problems import problem
from app.domain.callers import authenticate
from app.extensions import db

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="motion-gateway"'}


def require_caller():
    """before_request hook: resolve the caller from its key or answer 401."""
    if request.method == "OPTIONS":
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "Unauthorized", "send 'Authorization: Bearer <api key>'", "unauthorized", CHALLENGE)
    caller = authenticate(db.session, token.strip())
    if caller is None:
        return problem(401, "Unauthorized", "the API key is unknown or revoked", "unauthorized", CHALLENGE)
    g.caller = caller
    logs.bind(caller=caller.name)
    return None


def require_json_body():
    """before_request hook: a body must be well-formed JSON (415 for other types, 400 if malformed)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    if not has_body and not request.mimetype:
        return None
    if not request.is_json:
        return problem(415, "Unsupported Media Type", "send the body as application/json", "unsupported-media-type")
    if has_body and request.get_json(silent=True) is None:
        return problem(400, "Malformed JSON", "the request body is not valid JSON", "malformed-json")
    return None
