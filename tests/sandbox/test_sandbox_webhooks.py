"""Webhooks: signed motion events to endpoints and webhook_url, JoggAI's retries, and the fault knobs."""

import hashlib
import hmac
import json
import time

SECRET = "whsec-test-secret"


def verify(received, secret):
    """Check a delivery's signature exactly as a receiver must: HMAC-SHA256 over the raw body."""
    expected = hmac.new(secret.encode("utf-8"), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-Webhook-Signature"], expected)


def test_webhook_url_gets_a_signed_success_event(start_sandbox, receiver):
    """A finished motion POSTs generated_motion_success to webhook_url, signed with webhook_secret."""
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_secret=SECRET)
    motion_id = sandbox.new_motion_id()
    [delivery] = receiver.wait_for(1)
    assert verify(delivery, SECRET)
    assert delivery.headers["X-Webhook-Signature"] == delivery.headers["X-Webhook-Signature"].lower()
    assert delivery.headers["X-Webhook-Event"] == "generated_motion_success"
    assert delivery.headers["User-Agent"] == "JoggAI-Webhook/2.0"
    assert delivery.headers["Content-Type"] == "application/json"
    event = json.loads(delivery.body)
    assert event["event"] == "generated_motion_success" and event["event_id"]
    assert isinstance(event["timestamp"], int) and abs(event["timestamp"] - time.time()) < 60
    data = event["data"]
    assert data["motion_id"] == motion_id and data["status"] == "completed" and data["error"] is None
    assert data["motion_preview_url"].endswith(".mp4") and isinstance(data["avatar_id"], int)


def test_a_wrong_secret_does_not_verify(start_sandbox, receiver):
    """The signature depends on the secret (a receiver with the wrong one must reject)."""
    start_sandbox(webhook_url=receiver.url, webhook_secret=SECRET).new_motion_id()
    [delivery] = receiver.wait_for(1)
    assert not verify(delivery, "another-secret")


def test_a_failed_motion_sends_the_failed_event_with_an_error(start_sandbox, receiver):
    """A failure fires generated_motion_failed with error {code, message} and no preview."""
    sandbox = start_sandbox(webhook_url=receiver.url, failure_rate=1.0)
    sandbox.new_motion_id()
    event = json.loads(receiver.wait_for(1)[0].body)
    assert event["event"] == "generated_motion_failed"
    assert event["data"]["status"] == "failed" and event["data"]["motion_preview_url"] is None
    assert set(event["data"]["error"]) == {"code", "message"}


def test_the_status_check_is_final_when_the_webhook_arrives(start_sandbox, receiver):
    """By the time a webhook is sent the status check already shows the outcome."""
    sandbox = start_sandbox(webhook_url=receiver.url)
    motion_id = sandbox.new_motion_id()
    receiver.wait_for(1)
    assert sandbox.status(motion_id)["data"]["status"] == "completed"


def test_a_registered_endpoint_gets_events_signed_with_its_own_secret(sandbox, receiver):
    """An endpoint created through the API receives its events, signed with the secret it was given."""
    body = {"url": receiver.url, "events": ["generated_motion_success"], "status": "enabled"}
    secret = sandbox.call("POST", "/v2/endpoint", json=body).json()["data"]["secret"]
    sandbox.new_motion_id()
    [delivery] = receiver.wait_for(1)
    assert verify(delivery, secret)


def test_disabled_and_unsubscribed_endpoints_get_nothing(sandbox, receiver, httpserver):
    """Only enabled endpoints subscribed to the event receive it."""
    other = f"{receiver.url}-other"
    sandbox.call("POST", "/v2/endpoint", json={"url": other, "events": ["generated_motion_failed"]})
    disabled = {"url": receiver.url, "events": ["generated_motion_success"], "status": "disabled"}
    sandbox.call("POST", "/v2/endpoint", json=disabled)
    sandbox.wait_for_status(sandbox.new_motion_id(), {"completed"})
    time.sleep(0.2)
    assert receiver.received == []
    assert sandbox.stats()["webhooks_sent"] == 0


def test_a_500_is_retried_with_the_same_body(start_sandbox, receiver):
    """After a 500 the same bytes are sent again; the retry counts as retried and delivered."""
    receiver.statuses = [500]
    sandbox = start_sandbox(webhook_url=receiver.url)
    sandbox.new_motion_id()
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    stats = sandbox.stats()
    assert (stats["webhooks_sent"], stats["webhooks_failed"], stats["webhooks_retried"]) == (2, 1, 1)
    assert stats["webhooks_delivered"] == 1


def test_retries_are_spaced_by_the_retry_delay(start_sandbox, receiver):
    """Attempts are webhook_retry_delay_seconds apart."""
    receiver.statuses = [503]
    start_sandbox(webhook_url=receiver.url, webhook_retry_delay_seconds=0.3).new_motion_id()
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 0.28


def test_delivery_gives_up_after_three_retries(start_sandbox, receiver):
    """Four failures in a row (the try and 3 retries) and the delivery is abandoned."""
    receiver.statuses = [500] * 10
    sandbox = start_sandbox(webhook_url=receiver.url)
    sandbox.new_motion_id()
    receiver.wait_for(4)
    stats = sandbox.wait_for_stats("webhooks_abandoned", 1)
    time.sleep(0.2)
    assert len(receiver.received) == 4
    assert (stats["webhooks_sent"], stats["webhooks_retried"], stats["webhooks_abandoned"]) == (4, 3, 1)


def test_a_slow_receiver_counts_as_failed(start_sandbox, receiver):
    """An answer slower than webhook_timeout_seconds is a failure and is retried."""
    receiver.delay = 0.4
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_timeout_seconds=0.1, webhook_retries=1)
    sandbox.new_motion_id()
    receiver.wait_for(2)
    assert sandbox.wait_for_stats("webhooks_abandoned", 1)["webhooks_failed"] == 2


def test_an_unreachable_receiver_is_retried_then_abandoned(start_sandbox):
    """Connection errors count as failures like non-2xx answers."""
    sandbox = start_sandbox(webhook_url="http://127.0.0.1:9/hook", webhook_retries=2)
    sandbox.new_motion_id()
    stats = sandbox.wait_for_stats("webhooks_abandoned", 1)
    assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (3, 3)


def test_drop_rate_one_sends_nothing(start_sandbox, receiver):
    """webhook_drop_rate 1: the motion completes but no webhook is ever sent."""
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_drop_rate=1.0)
    sandbox.wait_for_status(sandbox.new_motion_id(), {"completed"})
    time.sleep(0.2)
    assert receiver.received == []
    assert sandbox.stats()["webhooks_dropped"] == 1


def test_duplicate_rate_one_sends_the_same_event_twice(start_sandbox, receiver):
    """webhook_duplicate_rate 1: two identical deliveries with the same event_id."""
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_duplicate_rate=1.0)
    sandbox.new_motion_id()
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert sandbox.stats()["webhooks_duplicated"] == 1


def test_delay_knob_holds_the_webhook_back(start_sandbox, receiver):
    """webhook_delay_seconds postpones the first attempt past the motion's end."""
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_delay_seconds=0.6)
    started = time.monotonic()
    motion_id = sandbox.new_motion_id()
    sandbox.wait_for_status(motion_id, {"completed"})
    assert receiver.received == []
    [delivery] = receiver.wait_for(1)
    assert delivery.at - started >= 0.75


def test_event_id_may_be_the_motion_id(start_sandbox, receiver):
    """webhook_event_id motion_id makes event_id the task id, as JoggAI may do."""
    sandbox = start_sandbox(webhook_url=receiver.url, webhook_event_id="motion_id")
    motion_id = sandbox.new_motion_id()
    assert json.loads(receiver.wait_for(1)[0].body)["event_id"] == motion_id


def test_photo_avatar_events_knob_fires_the_second_pair_too(start_sandbox, receiver):
    """photo_avatar_events adds generated_photo_avatar_success beside the motion event."""
    start_sandbox(webhook_url=receiver.url, photo_avatar_events=True).new_motion_id()
    events = {d.headers["X-Webhook-Event"] for d in receiver.wait_for(2)}
    assert events == {"generated_motion_success", "generated_photo_avatar_success"}
