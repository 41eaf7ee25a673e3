"""The checks every /v1 request passes first: the caller's Bearer API key, then input we can read and store."""

from enum import StrEnum

from flask import Response, g, request

from app import logs, metrics
from app.api.json_input import NotJSON, load_json, unstorable_in_body, unstorable_in_request, whole_body
from app.api.problems import problem, validation_problem
from app.domain.callers import authenticate
from app.extensions import db

# Routes whose body is a list of independent items: unstorable text refuses only its item (g.unstorable).
PER_ITEM_ENDPOINTS = frozenset({"motions.batch"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="motion-gateway"'}


class Credential(StrEnum):
    """What was presented and refused (the `kind` label of mg_auth_failures_total)."""

    API_KEY = "api_key"
    WEBHOOK_SIGNATURE = "webhook_signature"
    OPS = "ops"


class Refusal(StrEnum):
    """Why it was refused (the `reason` label of mg_auth_failures_total)."""

    MISSING = "missing"
    INVALID = "invalid"  # an API key or operator token that is unknown, revoked or wrong
    MALFORMED = "malformed"  # a webhook signature that is not 64 lowercase hex digits
    MISMATCH = "mismatch"  # a well-formed webhook signature that no configured secret made


def require_caller():
    """before_request hook: resolve the caller from its key (one indexed lookup) or answer 401."""
    if request.method == "OPTIONS":
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        metrics.AUTH_FAILURES.labels(Credential.API_KEY, Refusal.MISSING).inc()
        return problem(401, "Unauthorized", "send 'Authorization: Bearer <api key>'", "unauthorized", CHALLENGE)
    caller = authenticate(db.session, token.strip()) if token.isascii() else None  # keys are ASCII
    if caller is None:
        metrics.AUTH_FAILURES.labels(Credential.API_KEY, Refusal.INVALID).inc()
        return problem(401, "Unauthorized", "the API key is unknown or revoked", "unauthorized", CHALLENGE)
    g.caller = caller
    logs.bind(caller=caller.name)
    return None


def require_valid_input():
    """before_request hook: path, query and headers hold storable text; a body is strict JSON with storable text."""
    errors, unnamed = unstorable_in_request(request)
    if unnamed:
        return problem(400, "Bad Request", unnamed, "unstorable-text")
    if errors:
        return validation_problem(errors)
    return _check_body()


def count_ops_refusal(response: Response) -> Response:
    """after_request hook: count a refused operator login or token in /metrics by reason."""
    if request.blueprint == "ops" and response.status_code == 401:
        presented = request.headers.get("Authorization") or request.cookies or request.form.get("token")
        metrics.AUTH_FAILURES.labels(Credential.OPS, Refusal.INVALID if presented else Refusal.MISSING).inc()
    return response


def _check_body():
    """A body must be application/json (415), RFC 8259 JSON nested at most 64 deep (400), with storable text (422)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    if not has_body and not request.mimetype:
        return None
    if not request.is_json:
        return problem(415, "Unsupported Media Type", "send the body as application/json", "unsupported-media-type")
    if not has_body:
        return None
    try:
        body = load_json(whole_body(request))
    except NotJSON as exc:
        return problem(400, "Malformed JSON", str(exc), "malformed-json")
    errors = unstorable_in_body(body)
    if errors and request.endpoint in PER_ITEM_ENDPOINTS:
        g.unstorable = errors
        return None
    return validation_problem(errors) if errors else None
