"""Every /v1 route needs a valid key, and a caller only ever sees its own motions."""

import re

import pytest

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def v1_requests(app):
    """One (method, path) per /v1 route and method, found by walking the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1"):
            continue
        path = re.sub(r"<[^>]+>", "mot_doesnotexist", rule.rule)
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_the_walk_finds_the_routes(app):
    """The URL-map walk sees every caller route (guards the walk itself)."""
    paths = {path for _, path in v1_requests(app)}
    assert {"/v1/motions", "/v1/motions/mot_doesnotexist", "/v1/motions/mot_doesnotexist/events"} <= paths
    assert len(v1_requests(app)) >= 6


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer mgw_wrong", "Token mgw_x"],
    ids=["missing", "empty", "no-token", "blank-token", "basic", "unknown-key", "other-scheme"],
)
def test_every_v1_route_refuses_missing_or_wrong_key(app, client, header):
    """No /v1 route answers without a known key."""
    headers = {} if header is None else {"Authorization": header}
    for method, path in v1_requests(app):
        resp = client.open(path, method=method, headers=headers, json=VALID if method == "POST" else None)
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert resp.mimetype == "application/problem+json"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_disabled_caller_is_refused(client, session, make_caller):
    """A revoked key gets 401."""
    from app.domain import callers
    from app.models import Caller

    caller_id, key = make_caller("revoked")
    callers.disable(session, "revoked")
    session.commit()
    assert session.get(Caller, caller_id).active is False
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_rotated_key_replaces_the_old(client, session, make_caller):
    """After rotate-key the old key is refused and the new one works."""
    from app.domain import callers

    _, old = make_caller("rotating")
    new = callers.rotate_key(session, "rotating").api_key
    session.commit()
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_a_caller_cannot_touch_another_callers_motion(client, make_caller, session):
    """Read, list, events, cancel and retry of a foreign motion all look like 'not found'."""
    _, key_a = make_caller()
    _, key_b = make_caller()
    owner, intruder = ({"Authorization": f"Bearer {k}"} for k in (key_a, key_b))
    motion_id = client.post("/v1/motions", json=VALID, headers=owner).get_json()["id"]
    for method, path in [
        ("GET", f"/v1/motions/{motion_id}"),
        ("GET", f"/v1/motions/{motion_id}/events"),
        ("POST", f"/v1/motions/{motion_id}/cancel"),
        ("POST", f"/v1/motions/{motion_id}/retry"),
    ]:
        resp = client.open(path, method=method, headers=intruder)
        assert resp.status_code == 404, (method, path)
    assert client.get("/v1/motions", headers=intruder).get_json()["items"] == []
    assert client.get(f"/v1/motions/{motion_id}", headers=owner).get_json()["status"] == "queued"


def test_a_wrong_key_costs_one_indexed_lookup(client, engine, make_caller):
    """An unknown key is refused after a single SELECT by the key's hash (a unique, indexed column)."""
    from tests.hostile.conftest import statements

    make_caller()
    with statements(engine) as seen:
        assert client.get("/v1/motions", headers={"Authorization": "Bearer mgw_wrong"}).status_code == 401
    assert len(seen) == 1 and "api_key_hash" in seen[0]


def test_refused_credentials_are_counted_by_kind_and_reason(client, auth):
    """Missing or wrong API keys, bad webhook signatures and ops tokens show in mg_auth_failures_total."""
    from tests.test_metrics import samples

    def failures() -> dict[tuple[str, str], float]:
        found = samples(client)
        return {
            (dict(labels)["kind"], dict(labels)["reason"]): value
            for (name, labels), value in found.items()
            if name == "mg_auth_failures_total"
        }

    before = failures()
    client.get("/v1/motions")
    client.get("/v1/motions", headers={"Authorization": "Bearer mgw_wrong"})
    client.get("/v1/motions", headers={"Authorization": "Bearer caf\u00e9"})
    client.post("/webhooks/jogg", data=b"{}")
    client.post("/webhooks/jogg", data=b"{}", headers={"X-Webhook-Signature": "\u00e9" * 64})
    client.post("/webhooks/jogg", data=b"{}", headers={"X-Webhook-Signature": "0" * 64})
    client.get("/ops/data.json")
    client.get("/ops/data.json", headers={"Authorization": "Bearer not-the-token"})
    client.get("/v1/motions", headers=auth)  # accepted: not counted
    after = failures()
    expected = {
        ("api_key", "missing"): 1, ("api_key", "invalid"): 2,
        ("webhook_signature", "missing"): 1, ("webhook_signature", "malformed"): 1,
        ("webhook_signature", "mismatch"): 1, ("ops", "missing"): 1, ("ops", "invalid"): 1,
    }  # fmt: skip
    assert {key: after.get(key, 0) - before.get(key, 0) for key in expected} == expected
