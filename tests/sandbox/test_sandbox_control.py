"""The /_sandbox control API and SANDBOX_* settings."""

import time

import pytest

from sandbox import ConfigError, SandboxConfig
from sandbox.config import listen_address


def test_stats_count_add_motion_calls_per_name(start_sandbox):
    """add_motion calls and created motions are counted per request name."""
    sandbox = start_sandbox(credits=4)
    for name in ["a", "b", "a", "c"]:
        sandbox.add_motion(name=name)
    stats = sandbox.stats()
    assert stats["add_motion_calls"] == 4
    assert stats["add_motion_calls_by_name"] == {"a": 2, "b": 1, "c": 1}
    assert stats["motions_created_by_name"] == {"a": 1, "b": 1}  # the credit ran out before "c"


def test_stats_list_each_motion_with_its_status_checks(sandbox):
    """stats.motions has a line per motion_id with its name and status-check count."""
    motion_id = sandbox.new_motion_id(name="polled")
    sandbox.status(motion_id)
    sandbox.status(motion_id)
    stats = sandbox.stats()
    assert stats["motions"][motion_id]["name"] == "polled"
    assert stats["motions"][motion_id]["status_checks"] == 2
    assert stats["status_checks"] == 2


def test_stats_count_answers_by_code_and_http_status(start_sandbox):
    """Every answer is tallied by envelope code and by HTTP status."""
    sandbox = start_sandbox(rate_limit=1)
    sandbox.add_motion()
    sandbox.add_motion()
    sandbox.add_motion(api_key="bad")
    stats = sandbox.stats()
    assert stats["responses_by_code"] == {"0": 1, "429": 1, "10105": 1}
    assert stats["responses_by_http_status"] == {"200": 1, "429": 1, "401": 1}


def test_config_accepts_a_partial_update(sandbox):
    """POST /_sandbox/config changes only the knobs it names and returns them all."""
    response = sandbox.configure(failure_rate=0.25, webhook_url="http://example.com/hook")
    assert response.status_code == 200
    config = response.json()
    assert config["failure_rate"] == 0.25 and config["webhook_url"] == "http://example.com/hook"
    assert config["motion_seconds"] == 0.2


def test_unknown_knob_is_a_400(sandbox):
    """A knob the sandbox does not have is refused with its name."""
    response = sandbox.configure(no_such_knob=1)
    assert response.status_code == 400 and "no_such_knob" in response.json()["error"]


@pytest.mark.parametrize(
    "knobs",
    [
        {"failure_rate": 2},
        {"motion_seconds": "soon"},
        {"motion_seconds": -1},
        {"status_vocabulary": "v3"},
        {"rate_limit": True},
        {"rate_limit": 2.5},
        {"error_status": 404},
        {"api_key": " , "},
    ],
)
def test_bad_knob_values_are_a_400(sandbox, knobs):
    """Wrong types and out-of-range values are refused and change nothing."""
    assert sandbox.configure(**knobs).status_code == 400
    assert sandbox.state.config.motion_seconds == 0.2


def test_config_body_must_be_an_object(sandbox):
    """A non-object config body is a 400."""
    response = sandbox.http.post(sandbox.base_url + "/_sandbox/config", data="[]", timeout=5)
    assert response.status_code == 400


def test_setting_credits_sets_the_balance(sandbox):
    """credits in a config update replaces the remaining balance."""
    sandbox.new_motion_id()
    sandbox.configure(credits=3)
    assert sandbox.call("GET", "/v2/user/remaining_quota").json()["data"]["remaining_quota"] == 3


def test_reset_clears_everything_and_restores_start_up_knobs(start_sandbox, receiver):
    """reset forgets motions, endpoints, windows and counts, and undoes config changes."""
    sandbox = start_sandbox(rate_limit=2)
    motion_id = sandbox.new_motion_id()
    sandbox.call("POST", "/v2/endpoint", json={"url": receiver.url, "events": ["generated_motion_success"]})
    sandbox.configure(failure_rate=1.0, credits=5)
    assert sandbox.http.post(sandbox.base_url + "/_sandbox/reset", timeout=5).json()["reset"] is True
    assert sandbox.status(motion_id)["code"] == 10104
    assert sandbox.call("GET", "/v2/endpoints").json()["data"] == []
    stats = sandbox.stats()
    assert stats["add_motion_calls"] == 0 and stats["credits_remaining"] == 1000
    assert sandbox.state.config.failure_rate == 0.0 and sandbox.state.config.rate_limit == 2
    assert [sandbox.add_motion().json()["code"] for _ in range(2)] == [0, 0]


def test_a_reset_cancels_pending_webhooks(start_sandbox, receiver):
    """Motions running at a reset never finish, so they send no webhook."""
    sandbox = start_sandbox(webhook_url=receiver.url, motion_seconds=0.2)
    sandbox.new_motion_id()
    sandbox.http.post(sandbox.base_url + "/_sandbox/reset", timeout=5)
    time.sleep(0.35)
    assert receiver.received == []


def test_settings_come_from_sandbox_environment_variables():
    """Each knob reads SANDBOX_<NAME>, typed like its default."""
    config = SandboxConfig.from_env(
        {
            "SANDBOX_API_KEY": "k1",
            "SANDBOX_MOTION_SECONDS": "2.5",
            "SANDBOX_RATE_LIMIT": "5",
            "SANDBOX_ERRORS_AS_HTTP_200": "true",
            "SANDBOX_WEBHOOK_URL": "http://localhost:8000/webhooks/jogg",
            "SANDBOX_SEED": "3",
            "UNRELATED": "x",
        }
    )
    assert (config.api_key, config.motion_seconds, config.rate_limit) == ("k1", 2.5, 5)
    assert config.errors_as_http_200 is True and config.seed == 3
    assert config.webhook_url == "http://localhost:8000/webhooks/jogg"
    assert config.rate_window_seconds == 60.0


@pytest.mark.parametrize(
    "environ", [{"SANDBOX_RATE_LIMIT": "many"}, {"SANDBOX_FAILURE_RATE": "1.5"}, {"SANDBOX_V1_RESPONSE": "maybe"}]
)
def test_bad_environment_values_fail_fast_naming_the_variable(environ):
    """A bad SANDBOX_* value raises ConfigError at start-up."""
    with pytest.raises(ConfigError):
        SandboxConfig.from_env(environ)


def test_listen_address_defaults_to_127_0_0_1_8100():
    """SANDBOX_HOST and SANDBOX_PORT default to 127.0.0.1:8100."""
    assert listen_address({}) == ("127.0.0.1", 8100)
    assert listen_address({"SANDBOX_HOST": "0.0.0.0", "SANDBOX_PORT": "9000"}) == ("0.0.0.0", 9000)  # noqa: S104
