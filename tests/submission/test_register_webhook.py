"""`flask jogg register-webhook`: registers with JoggAI, stores the secret it returns and prints it once."""

import json

import pytest
import requests

from app import create_app
from app.models import JoggAccount
from devstack.redis import free_port
from tests.jogg_fixtures import SANDBOX_KEY, sandbox_config, sandbox_stats
from tests.tracking.conftest import sign

URL = "https://mg.example.com/webhooks/jogg"


def register(app, *args: str):
    """Invoke `flask jogg register-webhook ...` and return the result."""
    return app.test_cli_runner().invoke(args=["jogg", "register-webhook", *args])


def test_registers_stores_and_prints_the_secret(jogg_app, sandbox, session):
    """The endpoint is created with the motion events through one POST slot; the stored secret is the one printed."""
    budget = jogg_app.extensions["post_budget"]
    free_before = budget.free_slots()
    result = register(jogg_app, URL)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out["events"]) >= {"generated_motion_success", "generated_motion_failed"}
    assert out["url"] == URL and out["reused"] is False
    account = session.get(JoggAccount, 1)
    assert account.webhook_endpoint_id == out["endpoint_id"]
    assert account.webhook_secret == out["secret"] and len(out["secret"]) == 16
    assert budget.free_slots() == free_before - 1
    assert sandbox_stats(sandbox)["endpoints"] == 1


def test_works_without_a_configured_secret_and_the_receiver_accepts_it(jogg_settings, sandbox, session):
    """Without JOGG_WEBHOOK_SECRET the command runs; a receiver that has just cached the secrets accepts it at once."""
    app = create_app(jogg_settings.with_overrides(jogg_webhook_secret="", jogg_webhook_secret_old=""))
    raw = json.dumps({"event": "generated_motion_success", "data": {"motion_id": "jm-registered"}}).encode()
    client = app.test_client()
    before = {"X-Webhook-Event": "generated_motion_success", "X-Webhook-Signature": sign(raw, "not-yet-registered")}
    assert client.post("/webhooks/jogg", data=raw, headers=before).status_code == 401  # secrets now cached (none)
    secret = json.loads(register(app, URL).output)["secret"]
    headers = {"X-Webhook-Event": "generated_motion_success", "X-Webhook-Signature": sign(raw, secret)}
    assert client.post("/webhooks/jogg", data=raw, headers=headers).status_code == 200


def test_an_existing_endpoint_gives_back_its_secret(jogg_app, sandbox, session):
    """A second run for the same URL reuses JoggAI's endpoint and its listed secret: no POST, no second endpoint."""
    first = json.loads(register(jogg_app, URL).output)
    budget = jogg_app.extensions["post_budget"]
    free_before = budget.free_slots()
    session.get(JoggAccount, 1).webhook_secret = None  # as if the database were restored without it
    session.commit()
    again = json.loads(register(jogg_app, URL).output)
    assert again["reused"] is True
    assert (again["endpoint_id"], again["secret"]) == (first["endpoint_id"], first["secret"])
    assert budget.free_slots() == free_before and sandbox_stats(sandbox)["endpoints"] == 1
    assert session.get(JoggAccount, 1, populate_existing=True).webhook_secret == first["secret"]


def test_a_new_url_keeps_the_previous_secret(jogg_app, sandbox, session):
    """Registering another URL keeps the old secret as the previous one, so in-flight webhooks still verify."""
    first = json.loads(register(jogg_app, URL).output)["secret"]
    second = json.loads(register(jogg_app, "https://mg2.example.com/webhooks/jogg").output)["secret"]
    account = session.get(JoggAccount, 1, populate_existing=True)
    assert (account.previous_webhook_secret, account.webhook_secret) == (first, second)
    assert first != second


def test_a_disabled_endpoint_is_reused_with_a_warning(jogg_app, sandbox):
    """An endpoint found disabled is still the URL's endpoint; the operator is told it hears nothing."""
    endpoint_id = json.loads(register(jogg_app, URL).output)["endpoint_id"]
    headers = {"x-api-key": SANDBOX_KEY}
    requests.put(
        f"{sandbox.base_url}/v2/endpoint/{endpoint_id}", json={"status": "disabled"}, headers=headers, timeout=5
    )
    result = register(jogg_app, URL)
    assert result.exit_code == 0 and json.loads(result.stdout)["reused"] is True
    assert f"endpoint {endpoint_id} is registered but status disabled" in result.stderr


def test_refused_registration_is_a_clean_error(jogg_app, sandbox):
    """A JoggAI refusal (bad key here) is reported without a traceback, and nothing is stored."""
    sandbox_config(sandbox, api_key="other")
    result = register(jogg_app, URL)
    assert result.exit_code != 0 and "JoggAI refused" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "url", ["mg.example.com/webhooks/jogg", "ftp://mg.example.com/x", "https://", "https://mg\x00.io/"]
)
def test_a_url_jogg_could_not_call_is_refused_before_any_request(jogg_app, sandbox, url):
    """Not an absolute http(s) URL: a one-line usage error, exit status 2, nothing asked of JoggAI."""
    result = register(jogg_app, url)
    assert result.exit_code == 2 and "absolute http(s) URL" in result.output
    assert "Traceback" not in result.output and sandbox_stats(sandbox)["endpoints"] == 0


def test_url_defaults_to_the_public_base_url(jogg_app, sandbox):
    """Without a URL, the receiver under PUBLIC_BASE_URL is registered."""
    result = register(jogg_app)
    assert result.exit_code == 0, result.output
    expected = jogg_app.config["SETTINGS"].public_base_url + "/webhooks/jogg"
    assert json.loads(result.output)["url"] == expected


def test_the_secret_is_printed_even_when_redis_is_down(jogg_app, jogg_settings, sandbox, session):
    """Redis unreachable after the commit: a one-line warning (picked up within 10 s), the secret still printed."""
    first = json.loads(register(jogg_app, URL).output)
    session.get(JoggAccount, 1).webhook_secret = None  # so the second run stores it again
    session.commit()
    no_redis = create_app(jogg_settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    result = register(no_redis, URL)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["secret"] == first["secret"]
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert warnings == ["WARNING: Redis is unreachable; the receivers will pick the new secret up within 10 s"]
    assert "Traceback" not in result.output
    assert session.get(JoggAccount, 1, populate_existing=True).webhook_secret == first["secret"]
