"""Webhook endpoint registration: create, list, update, delete, limits and event names."""

import hashlib
import hmac

import pytest

EVENTS = ["generated_motion_success", "generated_motion_failed"]


def create(sandbox, url, events=EVENTS, **extra):
    """POST /v2/endpoint and return the envelope."""
    return sandbox.call("POST", "/v2/endpoint", json={"url": url, "events": events, **extra}).json()


def test_create_returns_an_id_and_a_secret(sandbox):
    """Registration answers endpoint_id and a 16-character secret, enabled by default."""
    data = create(sandbox, "https://example.com/hook")["data"]
    assert data["endpoint_id"] and len(data["secret"]) == 16
    assert data["status"] == "enabled" and data["events"] == EVENTS


def test_the_list_shows_each_secret(sandbox):
    """GET /v2/endpoints lists every endpoint with its secret, as JoggAI does (2026-11)."""
    created = [create(sandbox, f"https://example.com/hook/{i}")["data"] for i in range(2)]
    listed = sandbox.call("GET", "/v2/endpoints").json()["data"]
    assert [(e["endpoint_id"], e["url"], e["secret"]) for e in listed] == [
        (e["endpoint_id"], e["url"], e["secret"]) for e in created
    ]


def test_update_changes_status_and_events_but_not_the_secret(sandbox, receiver):
    """PUT changes what it names; deliveries are still signed with the original secret."""
    created = create(sandbox, "https://example.com/hook", status="disabled")["data"]
    body = {"url": receiver.url, "status": "enabled", "events": ["generated_motion_success"]}
    updated = sandbox.call("PUT", f"/v2/endpoint/{created['endpoint_id']}", json=body).json()["data"]
    assert updated["status"] == "enabled" and updated["url"] == receiver.url
    assert updated["secret"] == created["secret"]
    sandbox.new_motion_id()
    [delivery] = receiver.wait_for(1)
    expected = hmac.new(created["secret"].encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Webhook-Signature"] == expected


def test_delete_removes_the_endpoint(sandbox):
    """DELETE removes it; a second DELETE is 10104."""
    endpoint_id = create(sandbox, "https://example.com/hook")["data"]["endpoint_id"]
    assert sandbox.call("DELETE", f"/v2/endpoint/{endpoint_id}").json()["code"] == 0
    assert sandbox.call("GET", "/v2/endpoints").json()["data"] == []
    assert sandbox.call("DELETE", f"/v2/endpoint/{endpoint_id}").json()["code"] == 10104


def test_updating_an_unknown_endpoint_is_10104(sandbox):
    """PUT on an id that does not exist: 10104."""
    response = sandbox.call("PUT", "/v2/endpoint/nope", json={"status": "disabled"})
    assert (response.status_code, response.json()["code"]) == (404, 10104)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": EVENTS}, "url"),
        ({"url": "ftp://example.com", "events": EVENTS}, "url"),
        ({"url": "https://example.com"}, "events"),
        ({"url": "https://example.com", "events": []}, "events"),
        ({"url": "https://example.com", "events": ["made_up_event"]}, "events"),
        ({"url": "https://example.com", "events": EVENTS, "status": "paused"}, "status"),
    ],
)
def test_endpoint_validation_names_the_field(sandbox, body, field):
    """A bad endpoint body is a 40000 naming the field."""
    answer = sandbox.call("POST", "/v2/endpoint", json=body).json()
    assert answer["code"] == 40000 and field in answer["msg"]


def test_at_most_20_endpoints(start_sandbox):
    """The 21st endpoint is refused."""
    sandbox = start_sandbox(rate_limit=100)
    codes = [create(sandbox, f"https://example.com/hook/{i}")["code"] for i in range(21)]
    assert codes == [0] * 20 + [40000]


def test_events_lists_the_motion_events(sandbox):
    """GET /v2/events names every subscribable event, the motion and photo-avatar pairs included."""
    events = sandbox.call("GET", "/v2/events").json()["data"]
    assert {"generated_motion_success", "generated_motion_failed", "generated_photo_avatar_success"} <= set(events)
