"""Property-based contract test: every documented operation, driven from /openapi.json by schemathesis.

A bounded, deterministic, stateless run (issue 7): a fixed seed, a fixed number of generated examples
per operation, Hypothesis derandomized and without an example database, against the app in-process
over WSGI. Every call carries a real caller's key. A response must not be a 5xx; its status code must be
one the document lists for the operation, its content type and headers the documented ones, and its body
must match the documented schema.
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
