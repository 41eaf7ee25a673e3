"""Quotas at intake: POST /v1/motions refuses what would take a caller past its quota, also under concurrency."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests
from sqlalchemy import func, select

from app.domain.credits import period_bounds
from app.models import Caller, Motion, Status
from app.models.types import utcnow
from tests.credits.live import serving

MOTION = {"image_url": "https://example.com/a.png", "name": "n", "voice_id": "v", "model": "2.0"}  # costs 2


def _quota(session, caller_id, credits, period="day"):
    caller = session.get(Caller, caller_id)
    caller.quota_credits, caller.quota_period = credits, period
    session.commit()


def _headers(key, **extra):
    return {"Authorization": f"Bearer {key}", **extra}


def test_a_motion_past_the_quota_is_refused_with_429_and_retry_after(client, session, make_caller):
    """Room for 3 motions of 2 credits (one already spent): the 3rd new one is refused, saying why and until when."""
    caller_id, key = make_caller()
    _quota(session, caller_id, 8)
    session.add(Motion(caller_id=caller_id, status=Status.PROCESSING, credits=2, charged_at=utcnow(), **MOTION))
    session.commit()
    assert [client.post("/v1/motions", json=MOTION, headers=_headers(key)).status_code for _ in range(3)] == [
        202,
        202,
        202,
    ]
    refused = client.post("/v1/motions", json=MOTION, headers=_headers(key))
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["type"].endswith("quota-exceeded")
    assert (body["quota"], body["used"], body["reserved"], body["period"]) == (8, 2, 6, "day")
    assert "8 credits per day" in body["detail"] and "2 used" in body["detail"] and "6 reserved" in body["detail"]
    _, resets_at = period_bounds("day", datetime.now(UTC))
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= (resets_at - datetime.now(UTC)).total_seconds() + 1
    assert session.scalar(select(func.count()).where(Motion.caller_id == caller_id)) == 4


def test_a_cheaper_model_may_still_fit_and_cancelling_frees_room(client, session, make_caller):
    """The cost of the model asked for counts; a cancelled queued motion gives its reservation back."""
    caller_id, key = make_caller()
    _quota(session, caller_id, 5, "month")
    first = client.post("/v1/motions", json={**MOTION, "model": "2.0-Pro"}, headers=_headers(key)).get_json()
    assert client.post("/v1/motions", json={**MOTION, "model": "2.0-Pro"}, headers=_headers(key)).status_code == 429
    assert client.post("/v1/motions", json=MOTION, headers=_headers(key)).status_code == 202  # 3 + 2 = 5
    assert client.post("/v1/motions", json=MOTION, headers=_headers(key)).status_code == 429
    assert client.post(f"/v1/motions/{first['id']}/cancel", headers=_headers(key)).status_code == 200
    assert client.post("/v1/motions", json={**MOTION, "model": "2.0-Pro"}, headers=_headers(key)).status_code == 202


def test_an_idempotent_replay_is_not_counted_twice(client, session, make_caller):
    """Replays of one keyed request hold one reservation; the room left is still there for a new motion."""
    caller_id, key = make_caller()
    _quota(session, caller_id, 4)
    keyed = _headers(key, **{"Idempotency-Key": "once"})
    first = client.post("/v1/motions", json=MOTION, headers=keyed)
    again = client.post("/v1/motions", json=MOTION, headers=keyed)
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (202, 202, "true")
    assert again.get_json()["id"] == first.get_json()["id"]
    assert client.post("/v1/motions", json=MOTION, headers=_headers(key)).status_code == 202
    assert client.post("/v1/motions", json=MOTION, headers=_headers(key)).status_code == 429


def test_a_refused_keyed_request_gives_its_key_back(client, session, make_caller):
    """A 429 under an Idempotency-Key is not stored as the key's answer: the same request succeeds once room is made."""
    caller_id, key = make_caller()
    _quota(session, caller_id, 2)
    queued = client.post("/v1/motions", json=MOTION, headers=_headers(key)).get_json()
    keyed = _headers(key, **{"Idempotency-Key": "later"})
    assert client.post("/v1/motions", json={**MOTION, "name": "m"}, headers=keyed).status_code == 429
    client.post(f"/v1/motions/{queued['id']}/cancel", headers=_headers(key))
    assert client.post("/v1/motions", json={**MOTION, "name": "m"}, headers=keyed).status_code == 202


def test_other_callers_and_callers_without_a_quota_are_not_limited(client, session, make_caller):
    """A quota is per caller; no quota, no limit."""
    limited_id, limited = make_caller()
    _, free = make_caller()
    _quota(session, limited_id, 2)
    assert client.post("/v1/motions", json=MOTION, headers=_headers(limited)).status_code == 202
    assert client.post("/v1/motions", json=MOTION, headers=_headers(limited)).status_code == 429
    assert {client.post("/v1/motions", json=MOTION, headers=_headers(free)).status_code for _ in range(5)} == {202}


def test_twenty_parallel_posts_with_room_for_five_accept_exactly_five(app, session, make_caller):
    """20 concurrent requests over real HTTP against room for 5 motions: exactly 5 accepted, 15 refused with 429."""
    caller_id, key = make_caller()
    _quota(session, caller_id, 10)

    def send(i: int) -> int:
        motion = {**MOTION, "name": f"m{i}"}
        return requests.post(f"{url}/v1/motions", json=motion, headers=_headers(key), timeout=60).status_code

    with serving(app) as url, ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(send, range(20)))
    assert sorted(codes) == [202] * 5 + [429] * 15
    stmt = select(func.count()).where(Motion.caller_id == caller_id, Motion.status == Status.QUEUED)
    assert session.scalar(stmt) == 5
