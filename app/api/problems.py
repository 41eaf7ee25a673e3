"""RFC 9457 problem responses for every error the app can produce."""

import logging

import sqlalchemy.exc
from flask import Flask, Response, current_app, json
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from app.domain.errors import DomainError, IdempotencyMismatch, NotFound
from app.http_problems import MEDIA_TYPE, PROBLEM_TYPE, problem, problem_body  # noqa: F401 (also imported from here)

log = logging.getLogger(__name__)

STATUS_FOR_DOMAIN_ERROR = {NotFound: 404, IdempotencyMismatch: 422}


class ProblemSchema(Schema):
    """An RFC 9457 problem document (served as application/problem+json): the app's ERROR_SCHEMA."""

    type = fields.String(required=True, metadata={"description": "a URN naming the problem, or about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "validation problems only: each invalid field and what is wrong with it"},
    )
    motion_id = fields.String(metadata={"description": "a duplicate external_id only: the motion that has it"})
    quota = fields.Integer(metadata={"description": "quota-exceeded only: the caller's credits per period"})
    used = fields.Integer(metadata={"description": "quota-exceeded only: credits spent in this period"})
    reserved = fields.Integer(metadata={"description": "quota-exceeded only: credits held by queued motions"})
    period = fields.String(metadata={"description": "quota-exceeded only: day or month"})


def from_http_exception(error: HTTPException) -> Response:
    """Render a werkzeug/webargs HTTP error, with validation messages as errors: {field: [messages]}."""
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    messages = data.get("messages") or data.get("errors")
    if error.code == 422 and messages:
        return validation_problem(_flatten(messages), headers)
    if error.code == 413:
        return too_large(headers)
    detail = data.get("message") or error.description or error.name
    return problem(error.code or 500, error.name, detail, headers=headers)


def validation_problem(errors: dict[str, list[str]], headers=None) -> Response:
    """A 422 naming each invalid field and what is wrong with it."""
    fields_named = ", ".join(sorted(errors))
    return problem(422, "Validation failed", f"invalid fields: {fields_named}", "validation", headers, errors=errors)


def validation_body(errors: dict[str, list[str]]) -> dict:
    """The document of a 422 naming each invalid field (a batch item's problem)."""
    detail = f"invalid fields: {', '.join(sorted(errors))}"
    return problem_body(422, "Validation failed", detail, "validation", errors=errors)


def field_messages(messages: dict) -> dict[str, list[str]]:
    """Marshmallow's messages of one schema as field -> flat list of strings."""
    return {str(field): _as_strings(problems) for field, problems in messages.items()}


def too_large(headers=None) -> Response:
    """A 413 that says the limit in bytes."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    detail = f"the request body is over the limit of {limit} bytes" if limit else "the request body is too large"
    return problem(413, "Content Too Large", detail, "too-large", headers)


def from_domain_error(error: DomainError) -> Response:
    """Render a business-rule error."""
    body = domain_body(error)
    response = Response(json.dumps(body), status=body["status"], mimetype=MEDIA_TYPE)
    response.headers.update(getattr(error, "headers", None) or {})
    return response


def domain_body(error: DomainError) -> dict:
    """The problem document of a business-rule error (its status from the error, else 409)."""
    default = getattr(error, "status", 409)
    status = next((code for cls, code in STATUS_FOR_DOMAIN_ERROR.items() if isinstance(error, cls)), default)
    slug = getattr(error, "slug", None) or type(error).__name__.replace("_", "-").lower()
    return problem_body(status, error.title, error.detail, slug, **error.extra)


def from_database_outage(error: Exception) -> Response:
    """The database is unreachable: 503 with Retry-After, the caller may try again shortly."""
    log.error("database unavailable: %s", error.__class__.__name__)
    detail = "the database is unavailable; retry shortly"
    return problem(503, "Service Unavailable", detail, "database-unavailable", {"Retry-After": "5"})


def from_unexpected(error: Exception) -> Response:
    """Log an unhandled exception and answer a bare 500, never a stack trace."""
    if isinstance(error, HTTPException) and not isinstance(error, InternalServerError):
        return from_http_exception(error)
    if is_database_outage(error):
        return from_database_outage(error)
    log.exception("unhandled error", exc_info=error)
    return problem(500, "Internal Server Error", "the server failed to handle this request; it has been logged")


def is_database_outage(error: BaseException) -> bool:
    """A lost or refused database connection, or a pool that cannot hand one out: not the caller's fault."""
    if isinstance(error, sqlalchemy.exc.TimeoutError):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, sqlalchemy.exc.OperationalError)
    return False


def register(app: Flask) -> None:
    """Install the handlers; they replace flask-smorest's default JSON errors."""
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(DomainError, from_domain_error)
    app.register_error_handler(Exception, from_unexpected)


def _flatten(messages: dict) -> dict[str, list[str]]:
    """Merge webargs's per-location messages into one field -> messages map."""
    errors: dict[str, list[str]] = {}
    for location_messages in messages.values():
        for field, problems in location_messages.items():
            errors.setdefault(field, []).extend(_as_strings(problems))
    return errors


def _as_strings(problems) -> list[str]:
    """Messages as a flat list of strings, nested ones prefixed with their key."""
    if isinstance(problems, dict):
        return [f"{key}: {text}" for key, value in problems.items() for text in _as_strings(value)]
    if isinstance(problems, list):
        return [text for item in problems for text in _as_strings(item)]
    return [str(problems)]
