"""Credits: charged when add_motion accepts a request (not when the motion completes), reported like JoggAI."""

import contextlib

import requests

from tests.sandbox.conftest import wait_until


def remaining(sandbox) -> int:
    """Credits left, read the way JoggAI exposes them."""
    return sandbox.call("GET", "/v2/user/remaining_quota").json()["data"]["remaining_quota"]


def test_credits_are_charged_on_accept_not_on_completion(start_sandbox):
    """Right after the POST is answered, the balance is down and the stats say so, while the motion still runs."""
    sandbox = start_sandbox(credits=10, motion_seconds=60)
    motion_id = sandbox.new_motion_id(model="2.0")
    assert sandbox.status(motion_id)["data"]["status"] in {"pending", "processing"}
    assert remaining(sandbox) == 8
    stats = sandbox.stats()
    assert stats["credits_charged"] == 2 and stats["credits_remaining"] == 8


def test_each_model_costs_its_price(sandbox):
    """2 credits for 1.0, 2.0 and 3.0; 3 for 2.0-Pro."""
    for model in ("1.0", "2.0", "2.0-Pro", "3.0"):
        sandbox.new_motion_id(model=model, name=f"m-{model}")
    assert sandbox.stats()["credits_charged"] == 9
    assert remaining(sandbox) == 1000 - 9


def test_a_failed_motion_keeps_its_charge(start_sandbox):
    """A motion that fails after acceptance is not refunded."""
    sandbox = start_sandbox(failure_rate=1.0)
    motion_id = sandbox.new_motion_id()
    sandbox.wait_for_status(motion_id, {"failed"})
    assert remaining(sandbox) == 998 and sandbox.stats()["credits_charged"] == 2


def test_a_lost_answer_after_accepting_is_still_charged(start_sandbox):
    """drop_after_create: the caller sees no answer, JoggAI charged anyway."""
    sandbox = start_sandbox(drop_after_create_rate=1.0)
    with contextlib.suppress(requests.RequestException):  # the dropped connection
        sandbox.add_motion(timeout=5)
    wait_until(lambda: sandbox.stats()["drops_after_create"] == 1)
    assert sandbox.stats()["credits_charged"] == 2 and remaining(sandbox) == 998


def test_refused_requests_cost_nothing(start_sandbox):
    """Business errors, bad parameters and too few credits charge nothing."""
    sandbox = start_sandbox(credits=2, business_error_rate=1.0)
    assert sandbox.add_motion().json()["code"] == 50000
    sandbox.configure(business_error_rate=0.0)
    assert sandbox.add_motion(model="9.9").json()["code"] == 40000
    assert sandbox.add_motion(model="2.0-Pro").json()["code"] == 18020
    assert sandbox.stats()["credits_charged"] == 0 and remaining(sandbox) == 2
