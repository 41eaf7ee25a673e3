"""`flask jogg register-webhook`: registers with JoggAI through the shared POST budget and stores the secret."""

import json

from app.models import JoggAccount
from tests.jogg_fixtures import sandbox_stats


def test_registers_and_stores_the_secret(jogg_app, sandbox, session):
    """The endpoint is created with the motion and photo-avatar events; its secret is stored, not printed."""
    budget = jogg_app.extensions["post_budget"]
    free_before = budget.free_slots()
    result = jogg_app.test_cli_runner().invoke(
        args=["jogg", "register-webhook", "https://mg.example.com/webhooks/jogg"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["secret"] == "stored"
    assert set(out["events"]) >= {"generated_motion_success", "generated_motion_failed"}
    account = session.get(JoggAccount, 1)
    assert account.webhook_endpoint_id == out["endpoint_id"]
    assert account.webhook_secret and account.webhook_secret not in result.output
    assert budget.free_slots() == free_before - 1
    assert sandbox_stats(sandbox)["endpoints"] == 1


def test_a_second_registration_keeps_the_previous_secret(jogg_app, sandbox, session):
    """Registering again keeps the old secret as the previous one, so in-flight webhooks still verify."""
    runner = jogg_app.test_cli_runner()
    runner.invoke(args=["jogg", "register-webhook", "https://mg.example.com/webhooks/jogg"])
    first = session.get(JoggAccount, 1).webhook_secret
    runner.invoke(args=["jogg", "register-webhook", "https://mg.example.com/webhooks/jogg"])
    account = session.get(JoggAccount, 1, populate_existing=True)
    assert account.previous_webhook_secret == first and account.webhook_secret != first


def test_refused_registration_is_a_clean_error(jogg_app, sandbox):
    """A JoggAI refusal (bad key here) is reported without a traceback."""
    from tests.jogg_fixtures import sandbox_config

    sandbox_config(sandbox, api_key="other")
    result = jogg_app.test_cli_runner().invoke(args=["jogg", "register-webhook", "https://mg.example.com/hook"])
    assert result.exit_code != 0 and "JoggAI refused" in result.output


def test_url_defaults_to_the_public_base_url(jogg_app, sandbox):
    """Without a URL, the receiver under PUBLIC_BASE_URL is registered."""
    result = jogg_app.test_cli_runner().invoke(args=["jogg", "register-webhook"])
    assert result.exit_code == 0, result.output
    expected = jogg_app.config["SETTINGS"].public_base_url + "/webhooks/jogg"
    assert json.loads(result.output)["url"] == expected
