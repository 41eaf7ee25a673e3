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
