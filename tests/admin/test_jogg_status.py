"""`flask jogg status` against the sandbox: key validity, credit left, endpoints, never the key itself."""

import json

import pytest

from app import create_app
from tests.jogg_fixtures import SANDBOX_KEY, sandbox_config, sandbox_stats


@pytest.fixture
def status_cli(app, jogg_settings):
    """Invoke `flask jogg status` on a sandbox-wired app, as the factory registers it."""
    wired = create_app(jogg_settings)
    return wired, lambda: wired.test_cli_runner().invoke(args=["jogg", "status"])


def test_status_with_a_valid_key(status_cli, sandbox):
    """A working key: key_valid true, the credit left, each endpoint, the submission state; no key printed."""
    wired, run = status_cli
    created = wired.extensions["jogg_client"].create_endpoint(
        "https://mg.example.com/webhooks/jogg", ["generated_motion_success"]
    )
    result = run()
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["key_valid"] is True
    assert status["credit_left"] == sandbox_stats(sandbox)["credits_remaining"]
    assert status["webhook_endpoints"] == [
        {
            "endpoint_id": created.endpoint_id,
            "url": "https://mg.example.com/webhooks/jogg",
            "events": ["generated_motion_success"],
            "status": "enabled",
        }
    ]
    assert status["submissions"] == {"submissions": "flowing"}
    assert SANDBOX_KEY not in result.output and created.secret not in result.output


def test_status_with_a_wrong_key(status_cli, sandbox):
    """A key JoggAI refuses: key_valid false, no credit, exit 1, and still no key printed."""
    _, run = status_cli
    sandbox_config(sandbox, api_key="another-key")
    result = run()
    assert result.exit_code == 1
    status = json.loads(result.output)
    assert status["key_valid"] is False and status["credit_left"] is None
    assert SANDBOX_KEY not in result.output
