"""POST /v1/motions/batch: up to 100 items in one transaction, each accepted or refused on its own, in order."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from app.models import Caller, Motion, MotionEvent
from tests.jogg_fixtures import wait_until

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def _batch(client, auth, items, **headers):
    return client.post("/v1/motions/batch", json={"items": items}, headers={**auth, **headers})


def test_each_item_gets_its_own_answer_in_order(client, auth, session):
    """Valid items are queued (202 with the Motion); an invalid one gets its 4xx problem and refuses nothing else."""
    items = [{**VALID, "name": "one"}, {**VALID, "model": "9.9"}, {**VALID, "name": "three", "external_id": "x-3"}]
    resp = _batch(client, auth, items)
    assert resp.status_code == 200
    results = resp.get_json()["items"]
    assert [r["status"] for r in results] == [202, 422, 202]
    assert [results[0]["motion"]["name"], results[2]["motion"]["external_id"]] == ["one", "x-3"]
    assert results[1]["problem"]["errors"].keys() == {"model"} and results[1]["problem"]["status"] == 422
    assert "motion" not in results[1] and "problem" not in results[0]
    for result in (results[0], results[2]):
        motion = client.get(f"/v1/motions/{result['motion']['id']}", headers=auth).get_json()
        assert motion["status"] == "queued" and motion == result["motion"]
        events = session.scalars(select(MotionEvent.source).where(MotionEvent.motion_id == motion["id"])).all()
        assert events == ["api"]


def test_items_that_are_not_objects_unknown_fields_and_taken_external_ids_are_refused_alone(client, auth):
    """A string item, an unknown field, an external_id used before (also in the batch): only that item fails."""
    first = client.post("/v1/motions", json={**VALID, "external_id": "taken"}, headers=auth).get_json()
    items = ["nope", {**VALID, "colour": "red"}, {**VALID, "external_id": "taken"}, {**VALID, "external_id": "b"}]
    items.append({**VALID, "external_id": "b"})
    results = _batch(client, auth, items).get_json()["items"]
    assert [r["status"] for r in results] == [422, 422, 409, 202, 409]
    assert results[0]["problem"]["errors"] == {"body": ["must be a JSON object (a motion request)"]}
    assert "colour" in results[1]["problem"]["errors"]
    assert results[2]["problem"]["motion_id"] == first["id"]
    assert results[4]["problem"]["motion_id"] == results[3]["motion"]["id"]


def test_more_than_100_items_or_none_refuse_the_whole_batch(client, auth, session):
    """101 items or an empty list: 422 for the batch, nothing stored."""
    for items in ([VALID] * 101, []):
        resp = _batch(client, auth, items)
        assert resp.status_code == 422 and "items" in resp.get_json()["errors"]
    assert client.post("/v1/motions/batch", json=[VALID], headers=auth).status_code == 422
    assert session.scalar(select(func.count()).select_from(Motion)) == 0
    assert [r["status"] for r in _batch(client, auth, [VALID] * 100).get_json()["items"]] == [202] * 100


def test_unstorable_text_refuses_only_its_item(client, auth):
    """A NUL in one item's field or key is that item's 422 naming the field; a NUL outside the items refuses all."""
    items = [VALID, {**VALID, "name": "A\x00nn"}, {**VALID, "metadata": {"k\x00": 1}}]
    results = _batch(client, auth, items).get_json()["items"]
    assert [r["status"] for r in results] == [202, 422, 422]
    assert "name" in results[1]["problem"]["errors"] and "metadata" in results[2]["problem"]["errors"]
    resp = client.post("/v1/motions/batch", json={"items": [VALID], "x\x00": 1}, headers=auth)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"


def test_metadata_too_deep_in_one_item_refuses_that_item(client, auth):
    """metadata nested 17 levels deep: that item's 422; the whole body stays under the 64-level limit."""
    deep: object = "leaf"
    for _ in range(17):
        deep = {"k": deep}
    results = _batch(client, auth, [{**VALID, "metadata": deep}, VALID]).get_json()["items"]
    assert [r["status"] for r in results] == [422, 202]


def test_an_idempotency_key_covers_the_whole_batch(client, auth, session):
    """The same key and body replay the first answer; the same key with another body is 422."""
    items = [{**VALID, "name": "a"}, {**VALID, "model": "bad"}]
    first = _batch(client, auth, items, **{"Idempotency-Key": "batch-1"})
    again = _batch(client, auth, items, **{"Idempotency-Key": "batch-1"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert session.scalar(select(func.count()).select_from(Motion)) == 1
    assert _batch(client, auth, items[:1], **{"Idempotency-Key": "batch-1"}).status_code == 422


def test_quotas_count_the_accepted_items_in_order(client, session, make_caller):
    """Room for 5 credits: two 2-credit items accepted, then a 2-credit and a 3-credit item refused (429 each)."""
    caller_id, key = make_caller()
    caller = session.get(Caller, caller_id)
    caller.quota_credits, caller.quota_period = 5, "day"
    session.commit()
    items = [VALID, {**VALID, "model": "bad"}, VALID, VALID, {**VALID, "model": "2.0-Pro"}]
    results = _batch(client, {"Authorization": f"Bearer {key}"}, items).get_json()["items"]
    assert [r["status"] for r in results] == [202, 422, 202, 429, 429]
    refused = results[3]["problem"]
    assert refused["type"].endswith("quota-exceeded") and (refused["used"], refused["reserved"]) == (0, 4)
    assert refused["retry_after"] > 0


def test_identical_items_with_reuse_follow_the_first(client, auth):
    """Within one batch, an identical item asking for reuse follows the first."""
    results = _batch(client, auth, [VALID, {**VALID, "reuse": True}]).get_json()["items"]
    assert results[1]["motion"]["reused_from"] == results[0]["motion"]["id"]


def test_a_batch_locks_the_roots_it_reuses_in_id_order(client, auth, engine):
    """Batches naming the same roots in different orders cannot deadlock: each locks its roots lowest id first.

    With the lower root held elsewhere, a batch naming the higher root first waits for the lower one
    without having locked the higher one; once the lower is free, its items follow their roots.
    """
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    roots = {
        name: _batch(client, auth, [{**VALID, "name": name}]).get_json()["items"][0]["motion"]["id"] for name in "ab"
    }
    (low_name, low), (high_name, high) = sorted(roots.items(), key=lambda item: item[1])
    items = [{**VALID, "name": high_name, "reuse": True}, {**VALID, "name": low_name, "reuse": True}]
    lock = "SELECT id FROM motions WHERE id = :id FOR UPDATE"
    with engine.connect() as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(text(lock), {"id": low})
        pending = pool.submit(_batch, client, auth, items)
        wait_until(lambda: _lock_waits(engine) == 1)
        with engine.connect() as probe:
            high_free = probe.execute(text(lock + " SKIP LOCKED"), {"id": high}).scalar() == high
            probe.rollback()
        holder.rollback()
        resp = pending.result(timeout=60)
    assert high_free  # the batch waited for the lower root before locking the higher one
    assert resp.status_code == 200
    assert [r["motion"]["reused_from"] for r in resp.get_json()["items"]] == [high, low]


def _lock_waits(engine) -> int:
    """How many of this database's sessions wait for a row lock."""
    with engine.connect() as connection:
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return connection.execute(text(waiting)).scalar()


def test_the_batch_route_is_in_the_openapi_document(client):
    """OpenAPI documents the batch request and its per-item results."""
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/motions/batch"]["post"]
    assert "200" in operation["responses"] and "requestBody" in operation
    assert {"credits", "reuse", "reused_from"} <= set(spec["components"]["schemas"]["Motion"]["properties"])
    assert "429" in spec["paths"]["/v1/motions"]["post"]["responses"]
