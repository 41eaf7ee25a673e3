"""Settings for the generated OpenAPI document at /openapi.json and its viewer at /docs (a vendored Swagger UI).

Every error the API answers is an RFC 9457 problem (`app/api/problems.py`), served as
application/problem+json. flask-smorest documents errors as application/json by default; the
Blueprint below documents them as problems instead: the 401 of every /v1 route, the 422 of every
route that parses arguments, and the catch-all `default`. Routes add their own (404, 409, ...) with
`@blp.alt_response(status, response=PROBLEM[status])`.
"""

from http import HTTPStatus

import flask_smorest

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"  # app.api.problems.ProblemSchema, the app's ERROR_SCHEMA

# One response component per problem the API documents: status -> (component name, description).
_PROBLEMS = {
    400: ("MalformedJsonProblem", "The request body is not well-formed JSON"),
    401: ("UnauthorizedProblem", "Missing, unknown or revoked API key"),
    404: ("NotFoundProblem", "No such resource for this caller (another caller's id is not found either)"),
    409: ("ConflictProblem", "The request clashes with the resource's current state"),
    413: ("PayloadTooLargeProblem", "The request body is over the configured limit"),
    415: ("UnsupportedMediaTypeProblem", "The request body is not application/json"),
    422: ("ValidationProblem", "Validation failed; `errors` names each field and what is wrong with it"),
    429: ("QuotaExceededProblem", "The motion would take the caller past its credit quota; see `Retry-After`"),
}
PROBLEM = {status: name for status, (name, _) in _PROBLEMS.items()}
DEFAULT_PROBLEM = "Problem"


def _problem_response(description: str, headers: dict | None = None) -> dict:
    """An OpenAPI response component: a problem+json body, with headers if given."""
    response = {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}}
    if headers:
        response["headers"] = headers
    return response


_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"description": "The Bearer challenge", "schema": {"type": "string"}, "required": True}
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds until the quota resets", "schema": {"type": "integer"}, "required": True}
}
PROBLEM_RESPONSES = {
    name: _problem_response(description, {401: _WWW_AUTHENTICATE, 429: _RETRY_AFTER}.get(status))
    for status, (name, description) in _PROBLEMS.items()
} | {DEFAULT_PROBLEM: _problem_response("Any other error, as an RFC 9457 problem")}

OPENAPI_CONFIG = {
    "API_TITLE": "motion-gateway",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Swagger UI's files are served by the app itself (a pinned copy, app/static/swagger-ui/README.md), so
    # /docs works with no internet access; no online validator badge, which would call validator.swagger.io.
    "OPENAPI_SWAGGER_UI_URL": "/static/swagger-ui/",
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
    "API_SPEC_OPTIONS": {
        "info": {"description": "Animate photo avatars with JoggAI: submit motions, read their status, get callbacks."},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "responses": PROBLEM_RESPONSES,
        },
        "security": [{"bearerAuth": []}],
    },
}


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint for bearer-authenticated routes whose errors are documented as problems."""

    # flask-smorest's own error responses (components named after the HTTP status, and DEFAULT_ERROR)
    # are application/json; each is replaced by the problem response for its status.
    _GENERIC = {status.name for status in HTTPStatus} | {"DEFAULT_ERROR"}

    def __init__(self, *args, **kwargs):
        """A flask-smorest Blueprint that rewrites its documented error responses as problems."""
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._document_problems)

    @classmethod
    def _document_problems(cls, doc: dict, doc_info: dict, **_kwargs) -> dict:
        """Point an operation's error responses at the problem components, adding 401 and a default."""
        responses = doc.setdefault("responses", {})
        for status, response in list(responses.items()):
            if isinstance(response, str) and response in cls._GENERIC:
                responses[status] = PROBLEM.get(_as_int(status), DEFAULT_PROBLEM)
        if not any(str(status) == "401" for status in responses):
            responses[401] = PROBLEM[401]
        responses["default"] = DEFAULT_PROBLEM
        return doc


def _as_int(status) -> int | None:
    """A response's status as a number (None for a name such as default)."""
    return int(status) if str(status).isdigit() else None
