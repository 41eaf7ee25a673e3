"""A first end-to-end pass through the caller API."""

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-Jenny", "model": "2.0"}


def test_accept_then_read(client, auth, run_jobs):
    """A motion is accepted, queued, readable, and its outbox job runs."""
    resp = client.post("/v1/motions", json=VALID, headers=auth)
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "queued"
    assert resp.headers["Location"] == f"/v1/motions/{body['id']}"
    run_jobs()
    got = client.get(resp.headers["Location"], headers=auth)
    assert got.get_json()["id"] == body["id"]
