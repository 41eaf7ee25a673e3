"""The POST rate limit per API key and the credit balance."""

import time


def test_posts_beyond_the_limit_get_429(start_sandbox):
    """The (limit + 1)th POST in the window is code 429 with HTTP 429 and creates nothing."""
    sandbox = start_sandbox(rate_limit=3)
    codes = [sandbox.add_motion().json()["code"] for _ in range(3)]
    response = sandbox.add_motion()
    assert codes == [0, 0, 0]
    assert (response.status_code, response.json()["code"]) == (429, 429)
    assert sandbox.stats()["motions_created"] == 3


def test_the_rate_limit_is_per_api_key(start_sandbox):
    """Each key has its own window."""
    sandbox = start_sandbox(api_key="key-a,key-b", rate_limit=1)
    assert sandbox.add_motion(api_key="key-a").json()["code"] == 0
    assert sandbox.add_motion(api_key="key-a").json()["code"] == 429
    assert sandbox.add_motion(api_key="key-b").json()["code"] == 0


def test_the_window_slides_and_frees_slots(start_sandbox):
    """Once the oldest POST is older than the window, a new POST is admitted."""
    sandbox = start_sandbox(rate_limit=2, rate_window_seconds=0.4)
    assert [sandbox.add_motion().json()["code"] for _ in range(3)] == [0, 0, 429]
    time.sleep(0.45)
    assert sandbox.add_motion().json()["code"] == 0


def test_rejected_posts_do_not_use_up_slots(start_sandbox):
    """Hammering while limited does not push the window further out."""
    sandbox = start_sandbox(rate_limit=1, rate_window_seconds=0.6)
    sandbox.add_motion()
    time.sleep(0.3)
    assert sandbox.add_motion().json()["code"] == 429
    time.sleep(0.35)  # 0.65 s after the admitted POST, only 0.35 s after the refused one
    assert sandbox.add_motion().json()["code"] == 0


def test_gets_are_not_rate_limited(start_sandbox):
    """Status checks and quota reads never count against the POST limit."""
    sandbox = start_sandbox(rate_limit=1)
    motion_id = sandbox.new_motion_id()
    codes = {sandbox.status(motion_id)["code"] for _ in range(5)}
    assert codes == {0}
    assert sandbox.call("GET", "/v2/user/remaining_quota").json()["code"] == 0


def test_endpoint_registration_is_a_rate_limited_post(start_sandbox, receiver):
    """POST /v2/endpoint shares the window with add_motion."""
    sandbox = start_sandbox(rate_limit=1)
    sandbox.new_motion_id()
    body = {"url": receiver.url, "events": ["generated_motion_success"]}
    assert sandbox.call("POST", "/v2/endpoint", json=body).json()["code"] == 429


def test_429s_are_counted(start_sandbox):
    """Every 429 served shows in stats.responses_429."""
    sandbox = start_sandbox(rate_limit=1)
    for _ in range(4):
        sandbox.add_motion()
    assert sandbox.stats()["responses_429"] == 3


def test_rate_limit_headers_knob_adds_retry_after(start_sandbox):
    """With rate_limit_headers, a 429 carries Retry-After and admitted POSTs X-RateLimit-Remaining."""
    sandbox = start_sandbox(rate_limit=2, rate_window_seconds=30, rate_limit_headers=True)
    assert sandbox.add_motion().headers["X-RateLimit-Remaining"] == "1"
    sandbox.add_motion()
    refused = sandbox.add_motion()
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 30


def test_no_rate_limit_headers_by_default(start_sandbox):
    """JoggAI's docs do not promise Retry-After, so by default there is none."""
    sandbox = start_sandbox(rate_limit=1)
    sandbox.add_motion()
    assert "Retry-After" not in sandbox.add_motion().headers


def test_a_motion_costs_2_credits_and_3_for_2_0_pro(start_sandbox):
    """Credits drop by 2 per motion, 3 for model 2.0-Pro."""
    sandbox = start_sandbox(credits=10)
    sandbox.new_motion_id(model="1.0")
    sandbox.new_motion_id(model="2.0-Pro")
    assert sandbox.call("GET", "/v2/user/remaining_quota").json()["data"]["remaining_quota"] == 5


def test_insufficient_credit_is_18020_and_creates_nothing(start_sandbox):
    """Without enough credits add_motion answers 18020 (HTTP 402) and no motion starts."""
    sandbox = start_sandbox(credits=2)
    response = sandbox.add_motion(model="2.0-Pro")
    assert (response.status_code, response.json()["code"]) == (402, 18020)
    assert sandbox.stats()["motions_created"] == 0
    assert sandbox.add_motion(model="2.0").json()["code"] == 0


def test_refused_requests_spend_no_credit(start_sandbox):
    """A validation error costs nothing."""
    sandbox = start_sandbox(credits=10)
    sandbox.add_motion(model="bad")
    assert sandbox.stats()["credits_remaining"] == 10
