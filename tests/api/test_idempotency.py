"""Idempotency-Key: replay, mismatch, in-flight conflicts, expiry, and concurrent duplicates."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from app.domain import idempotency
from app.models import IdempotencyKey, Motion
from app.models.types import utcnow

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def post(client, auth, body, key):
    """POST a motion with an Idempotency-Key."""
    return client.post("/v1/motions", json=body, headers={**auth, "Idempotency-Key": key})


def motion_count(session) -> int:
    """How many motions exist."""
    return session.scalar(select(func.count()).select_from(Motion))


def test_same_key_and_body_replays_first_response(client, auth, session):
    """The second request gets the same status and body, marked replayed, and creates nothing."""
    first = post(client, auth, VALID, "k-1")
    second = post(client, auth, dict(reversed(list(VALID.items()))), "k-1")
    assert first.status_code == second.status_code == 202
    assert second.data == first.data
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Location"] == first.headers["Location"]
    assert motion_count(session) == 1


def test_same_key_with_different_body_is_422(client, auth, session):
    """Reusing a key for another body is refused and creates nothing."""
    post(client, auth, VALID, "k-2")
    resp = post(client, auth, {**VALID, "name": "Bob"}, "k-2")
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert "different" in resp.get_json()["detail"]
    assert motion_count(session) == 1


def test_key_in_flight_is_409(client, auth, session):
    """While the first request holds the key, a repeat gets 409."""
    post(client, auth, VALID, "warm-up")
    caller_id = session.scalar(select(Motion.caller_id))
    fingerprint = idempotency.request_hash(VALID)
    idempotency.claim(session, caller_id, "k-3", fingerprint, timedelta(hours=24))
    session.commit()  # a first request holds the key
    resp = post(client, auth, VALID, "k-3")
    assert resp.status_code == 409
    assert "in flight" in resp.get_json()["detail"]


def test_abandoned_reservation_is_taken_over(client, auth, session):
    """A reservation left by a crashed request is reclaimed after a minute."""
    post(client, auth, VALID, "warm-up")
    caller_id = session.scalar(select(Motion.caller_id))
    row = idempotency.claim(session, caller_id, "k-4", idempotency.request_hash(VALID), timedelta(hours=24))
    row.locked_at = utcnow() - timedelta(minutes=5)
    session.commit()
    resp = post(client, auth, VALID, "k-4")
    assert resp.status_code == 202
    assert motion_count(session) == 2


def test_expired_key_runs_again(client, auth, session):
    """After 24 h the key is forgotten and the request runs anew."""
    post(client, auth, VALID, "k-5")
    session.execute(IdempotencyKey.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    resp = post(client, auth, VALID, "k-5")
    assert resp.status_code == 202
    assert "Idempotent-Replayed" not in resp.headers
    assert motion_count(session) == 2


def test_key_is_scoped_to_the_caller(client, auth, make_caller, session):
    """Two callers may use the same key independently."""
    _, other_key = make_caller()
    post(client, auth, VALID, "shared")
    resp = post(client, {"Authorization": f"Bearer {other_key}"}, VALID, "shared")
    assert resp.status_code == 202
    assert "Idempotent-Replayed" not in resp.headers
    assert motion_count(session) == 2


def test_failed_request_releases_the_key(client, auth, session):
    """A request refused by a rule does not hold the key: the retry runs."""
    post(client, auth, {**VALID, "external_id": "ext-1"}, "first")
    clash = post(client, auth, {**VALID, "external_id": "ext-1"}, "k-6")
    assert clash.status_code == 409
    assert session.scalar(select(func.count()).where(IdempotencyKey.key == "k-6")) == 0


def test_key_length_is_checked(client, auth):
    """An Idempotency-Key over 255 characters is refused naming the header."""
    resp = post(client, auth, VALID, "k" * 256)
    assert resp.status_code == 422
    assert "Idempotency-Key" in resp.get_json()["errors"]


def test_concurrent_duplicates_one_wins(app, auth, session):
    """Two threads racing with one key: exactly one motion; the loser replays or gets 409."""
    barrier = threading.Barrier(2)
    results = []

    def send():
        client = app.test_client()
        barrier.wait()
        results.append(post(client, auth, VALID, "race"))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes in ([202, 202], [202, 409]), codes
    assert motion_count(session) == 1
    if codes == [202, 202]:
        assert results[0].data == results[1].data
