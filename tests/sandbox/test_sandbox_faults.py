"""Fault knobs on add_motion: gateway 5xx, business 50000 and the hang that hides an outcome."""

import time

import pytest
import requests


def test_error_rate_answers_an_html_5xx_and_creates_nothing(start_sandbox):
    """error_rate 1: an HTML page with HTTP error_status (502) instead of an envelope; no motion."""
    sandbox = start_sandbox(error_rate=1.0)
    response = sandbox.add_motion()
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    stats = sandbox.stats()
    assert (stats["motions_created"], stats["responses_5xx"], stats["credits_remaining"]) == (0, 1, 1000)


def test_error_status_sets_the_5xx(start_sandbox):
    """error_status picks which 5xx the error_rate fault answers with."""
    assert start_sandbox(error_rate=1.0, error_status=503).add_motion().status_code == 503


def test_business_error_rate_answers_50000_and_creates_nothing(start_sandbox):
    """business_error_rate 1: code 50000 (HTTP 500) in the envelope, data null, no motion."""
    sandbox = start_sandbox(business_error_rate=1.0)
    response = sandbox.add_motion()
    assert response.status_code == 500
    assert response.json()["code"] == 50000 and response.json()["data"] is None
    assert sandbox.stats()["motions_created"] == 0


def test_business_error_as_http_200(start_sandbox):
    """With errors_as_http_200 the 50000 arrives with HTTP 200."""
    response = start_sandbox(business_error_rate=1.0, errors_as_http_200=True).add_motion()
    assert (response.status_code, response.json()["code"]) == (200, 50000)


def test_a_hang_times_the_caller_out_but_creates_the_motion(start_sandbox):
    """hang_rate 1: the answer is held for hang_seconds, yet the motion exists and was charged."""
    sandbox = start_sandbox(hang_rate=1.0, hang_seconds=1.0)
    with pytest.raises(requests.ReadTimeout):
        sandbox.add_motion(name="hung", timeout=0.2)
    stats = sandbox.stats()
    assert stats["motions_created_by_name"] == {"hung": 1}
    assert stats["hangs"] == 1 and stats["credits_remaining"] == 998


def test_a_patient_caller_gets_the_answer_after_the_hang(start_sandbox):
    """Waiting out hang_seconds yields the normal success envelope."""
    sandbox = start_sandbox(hang_rate=1.0, hang_seconds=0.3)
    started = time.monotonic()
    body = sandbox.add_motion().json()
    assert time.monotonic() - started >= 0.3
    assert body["code"] == 0 and body["data"]["motion_id"]


def test_faults_do_not_apply_to_the_status_check(start_sandbox):
    """The submit faults affect add_motion only."""
    sandbox = start_sandbox()
    motion_id = sandbox.new_motion_id()
    sandbox.configure(error_rate=1.0, business_error_rate=1.0, hang_rate=1.0)
    assert sandbox.status(motion_id)["code"] == 0


def test_fault_rates_between_0_and_1_mix_outcomes(start_sandbox):
    """error_rate 0.5 fails some submissions and lets others through."""
    sandbox = start_sandbox(error_rate=0.5, rate_limit=100)
    statuses = {sandbox.add_motion().status_code for _ in range(20)}
    assert statuses == {200, 502}
