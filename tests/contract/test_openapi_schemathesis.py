"""Property-based contract test: every documented operation, driven from /openapi.json by schemathesis.

A bounded, deterministic, stateless run (issue 7): a fixed seed, a fixed number of generated examples
per operation, Hypothesis derandomized and without an example database, against the app in-process
over WSGI. Every call carries a real caller's key. A response must not be a 5xx; its status code must be
one the document lists for the operation, its content type and headers the documented ones, and its body
must match the documented schema.

A second run sends only invalid data (schemathesis's negative mode: wrong types, values out of range,
missing required fields, unknown properties, malformed formats), more of it per operation: never a 5xx,
and every refusal a problem document (contract section 8).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from app import create_app
from app.config import load_settings

SEED = 20260707
EXAMPLES_PER_OPERATION = 25
NEGATIVE_EXAMPLES_PER_OPERATION = 60

CONFIG = {
    "seed": SEED,
    "generation": {
        "mode": "all",  # valid and invalid requests: both must get a documented answer
        "max-examples": EXAMPLES_PER_OPERATION,
        "deterministic": True,  # Hypothesis derandomize: the same cases on every run
        "database": "none",  # no example database, so a run never depends on an earlier one
        "with-security-parameters": False,  # every call carries the real key below, never a generated one
    },
    "phases": {  # stateless: each operation on its own, no links between operations
        "examples": {"enabled": True},  # the documented examples, e.g. a request that is accepted (202)
        "coverage": {"enabled": False},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
}
NEGATIVE_CONFIG = {
    **CONFIG,
    "generation": {**CONFIG["generation"], "mode": "negative", "max-examples": NEGATIVE_EXAMPLES_PER_OPERATION},
    "phases": {**CONFIG["phases"], "examples": {"enabled": False}},  # the documented examples are valid ones
}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _document_app():
    """An app used only to serve /openapi.json at collection time (nothing connects to its database or Redis).

    The cases are sent to the session's migrated `app` fixture; test_document_is_the_apps checks that it
    serves the same document.
    """
    settings = load_settings().with_overrides(database_url="sqlite://", redis_url="redis://127.0.0.1:9/0")
    return create_app(settings)


DOCUMENT_APP = _document_app()
schema = schemathesis.openapi.from_wsgi("/openapi.json", DOCUMENT_APP, config=SchemathesisConfig.from_dict(CONFIG))
negative_schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", DOCUMENT_APP, config=SchemathesisConfig.from_dict(NEGATIVE_CONFIG)
)


@pytest.fixture
def caller_auth(make_caller):
    """Headers with a real caller's key, one caller for all of an operation's cases."""
    _, key = make_caller("schemathesis")
    return {"Authorization": f"Bearer {key}"}


def test_document_is_the_apps(client):
    assert client.get("/openapi.json").get_json() == schema.raw_schema


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # caller_auth is meant to be shared
def test_operation_answers_as_documented(case, app, caller_auth):
    case.call_and_validate(app=app, headers=caller_auth, checks=CHECKS)


@negative_schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
def test_invalid_requests_never_fail_the_server(case, app, caller_auth):
    """Only invalid data, at every operation: never a 5xx, and every refusal an application/problem+json document."""
    response = case.call(app=app, headers=caller_auth)
    case.validate_response(response, checks=[checks.not_a_server_error])
    if response.status_code >= 400:
        (content_type,) = response.headers["content-type"]  # schemathesis: lowercase names, lists of values
        assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
