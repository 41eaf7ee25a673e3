"""RFC 9457 problem documents and responses, for any blueprint (the API's error handling builds on them)."""

from flask import Response, json

PROBLEM_TYPE = "urn:motion-gateway:problem:"
MEDIA_TYPE = "application/problem+json"


def problem_body(status: int, title: str, detail: str, slug: str | None = None, **extra) -> dict:
    """The problem document itself."""
    body = {"type": PROBLEM_TYPE + slug if slug else "about:blank", "title": title, "status": status}
    body["detail"] = detail
    body.update(extra)
    return body


def problem(status: int, title: str, detail: str, slug: str | None = None, headers=None, **extra) -> Response:
    """Build a problem+json response."""
    body = problem_body(status, title, detail, slug, **extra)
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response
