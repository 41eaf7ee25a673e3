"""Reading, waiting on, listing, cancelling and retrying motions, and their history."""

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from app.domain import motions as motions_domain
from app.domain.transitions import transition
from app.models import Motion, Status
from app.models.types import utcnow

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def create(client, auth, **fields):
    """Create a motion and return its JSON."""
    resp = client.post("/v1/motions", json={**VALID, **fields}, headers=auth)
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()


def move(session, motion_id, *targets, source="worker"):
    """Push a motion through statuses as a worker would."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    for target in targets:
        transition(session, motion, target, source)
    session.commit()


def test_get_returns_the_motion(client, auth):
    """GET /v1/motions/{id} returns what was accepted."""
    made = create(client, auth, external_id="order-1", metadata={"a": 1})
    got = client.get(f"/v1/motions/{made['id']}", headers=auth)
    assert got.status_code == 200
    assert got.get_json() == made


def test_unknown_motion_is_404_problem(client, auth):
    """An unknown id is a 404 problem."""
    resp = client.get("/v1/motions/mot_nope", headers=auth)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_callback_url_defaults_to_the_callers(client, make_caller):
    """Omitted callback_url takes the caller's default; explicit null means none."""
    _, key = make_caller(callback_url="http://orders-svc:8080/motion-hooks")
    auth = {"Authorization": f"Bearer {key}"}
    assert create(client, auth)["callback_url"] == "http://orders-svc:8080/motion-hooks"
    assert create(client, auth, callback_url=None)["callback_url"] is None
    assert create(client, auth, callback_url="https://x.example.com/h")["callback_url"] == "https://x.example.com/h"


def test_external_id_is_unique_per_caller(client, auth, make_caller):
    """A second use of an external_id is 409 naming the existing motion; another caller may reuse it."""
    first = create(client, auth, external_id="ext-9")
    resp = client.post("/v1/motions", json={**VALID, "external_id": "ext-9"}, headers=auth)
    assert resp.status_code == 409
    assert resp.get_json()["motion_id"] == first["id"]
    assert first["id"] in resp.get_json()["detail"]
    _, other = make_caller()
    assert create(client, {"Authorization": f"Bearer {other}"}, external_id="ext-9")


def test_wait_returns_when_the_status_changes(client, auth, session):
    """?wait=N answers as soon as the status moves."""
    motion_id = create(client, auth)["id"]
    timer = threading.Timer(0.5, move, (session, motion_id, Status.PROCESSING))
    started = time.monotonic()
    timer.start()
    resp = client.get(f"/v1/motions/{motion_id}?wait=10", headers=auth)
    timer.join()
    assert resp.get_json()["status"] == "processing"
    assert time.monotonic() - started < 9


def test_wait_times_out_with_the_unchanged_motion(client, auth):
    """With no change, ?wait=N answers after about N seconds with the same status."""
    motion_id = create(client, auth)["id"]
    started = time.monotonic()
    resp = client.get(f"/v1/motions/{motion_id}?wait=1", headers=auth)
    assert resp.status_code == 200 and resp.get_json()["status"] == "queued"
    assert time.monotonic() - started >= 0.9


def test_wait_is_bounded(client, auth):
    """wait above 30 s, negative or not a number is refused."""
    motion_id = create(client, auth)["id"]
    for value in ("31", "-1", "soon"):
        resp = client.get(f"/v1/motions/{motion_id}?wait={value}", headers=auth)
        assert resp.status_code == 422
        assert "wait" in resp.get_json()["errors"]


def test_list_is_newest_first_and_pages_with_a_cursor(client, auth):
    """Listing walks every motion exactly once, newest first, across pages."""
    made = [create(client, auth, name=f"m{i}")["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/motions{query}", headers=auth).get_json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


def test_list_filters(client, auth, session):
    """status, external_id and created_after/before narrow the list."""
    a = create(client, auth, external_id="a")["id"]
    b = create(client, auth, external_id="b")["id"]
    move(session, b, Status.CANCELLED, source="api")

    def ids(query):
        return [m["id"] for m in client.get(f"/v1/motions?{query}", headers=auth).get_json()["items"]]

    assert ids("status=cancelled") == [b]
    assert ids("status=queued") == [a]
    assert ids("external_id=a") == [a]
    future = (utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    past = (utcnow() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={future}") == []
    assert set(ids(f"created_after={past}")) == {a, b}
    assert ids(f"created_before={past}") == []


def test_list_refuses_bad_parameters(client, auth):
    """Bad limit, status, dates, cursor or unknown parameters are 422 naming the parameter."""
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("status=done", "status"),
        ("created_after=yesterday", "created_after"),
        ("colour=red", "colour"),
    ]:
        resp = client.get(f"/v1/motions?{query}", headers=auth)
        assert resp.status_code == 422, query
        assert field in resp.get_json()["errors"], query
    resp = client.get("/v1/motions?cursor=bm90LWEtY3Vyc29y", headers=auth)
    assert resp.status_code == 422
    assert "cursor" in resp.get_json()["errors"]


def test_cancel_a_queued_motion(client, auth):
    """Cancelling a queued motion answers 200 with it cancelled; a second cancel is 409."""
    motion_id = create(client, auth)["id"]
    resp = client.post(f"/v1/motions/{motion_id}/cancel", headers=auth)
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "cancelled"
    assert resp.get_json()["completed_at"] is not None
    assert client.post(f"/v1/motions/{motion_id}/cancel", headers=auth).status_code == 409


def test_cancel_after_submission_is_409(client, auth, session):
    """Once JoggAI has it, a motion cannot be cancelled."""
    motion_id = create(client, auth)["id"]
    move(session, motion_id, Status.PROCESSING)
    resp = client.post(f"/v1/motions/{motion_id}/cancel", headers=auth)
    assert resp.status_code == 409
    assert resp.mimetype == "application/problem+json"


def test_retry_a_failed_motion(client, auth, session):
    """Retry sends a failed motion back to queued (202) and clears its error; otherwise 409."""
    motion_id = create(client, auth)["id"]
    assert client.post(f"/v1/motions/{motion_id}/retry", headers=auth).status_code == 409
    move(session, motion_id, Status.PROCESSING, Status.FAILED)
    resp = client.post(f"/v1/motions/{motion_id}/retry", headers=auth)
    assert resp.status_code == 202
    assert resp.get_json()["status"] == "queued"
    assert resp.get_json()["error"] is None


def test_events_tell_the_history(client, auth, session):
    """The events list every status change in order, with its source."""
    motion_id = create(client, auth)["id"]
    move(session, motion_id, Status.PROCESSING, Status.FAILED)
    client.post(f"/v1/motions/{motion_id}/retry", headers=auth)
    items = client.get(f"/v1/motions/{motion_id}/events", headers=auth).get_json()["items"]
    steps = [(e["from_status"], e["to_status"], e["source"]) for e in items]
    assert steps == [
        (None, "queued", "api"),
        ("queued", "processing", "worker"),
        ("processing", "failed", "worker"),
        ("failed", "queued", "api"),
    ]
    assert all(e["at"] for e in items)


def test_wait_on_a_final_motion_answers_at_once(client, auth, session, monkeypatch):
    """?wait=30 on a completed, failed or cancelled motion never sleeps: nothing will change it unasked."""
    naps: list[float] = []
    monkeypatch.setattr(motions_domain.time, "sleep", naps.append)
    ids = [create(client, auth)["id"] for _ in range(3)]
    move(session, ids[0], Status.PROCESSING, Status.COMPLETED)
    move(session, ids[1], Status.PROCESSING, Status.FAILED)
    client.post(f"/v1/motions/{ids[2]}/cancel", headers=auth)
    statuses = [client.get(f"/v1/motions/{motion_id}?wait=30", headers=auth).get_json()["status"] for motion_id in ids]
    assert statuses == ["completed", "failed", "cancelled"] and naps == []


def test_conflicts_are_told_in_the_callers_words(client, auth, session):
    """A 409 says what the motion is and what the operation needs, without internal terms such as its source."""
    motion_id = create(client, auth)["id"]
    retry = client.post(f"/v1/motions/{motion_id}/retry", headers=auth).get_json()
    move(session, motion_id, Status.PROCESSING, Status.COMPLETED)
    cancel = client.post(f"/v1/motions/{motion_id}/cancel", headers=auth).get_json()
    assert retry["detail"] == f"motion {motion_id} is queued; only a failed motion can be retried"
    assert cancel["detail"] == f"motion {motion_id} is completed; only a queued motion can be cancelled"
    assert all("source" not in problem["detail"] for problem in (retry, cancel))


def test_every_way_in_writes_the_motion_as_answered_with_one_history_row(client, auth, session):
    """Plain (admit: one INSERT), external_id and reuse requests, one and batched: stored as answered, one row each."""
    made = [create(client, auth), create(client, auth, external_id="way-in-1"), create(client, auth, reuse=True)]
    batch = client.post("/v1/motions/batch", json={"items": [VALID, {**VALID, "name": "Bo"}]}, headers=auth)
    made += [item["motion"] for item in batch.get_json()["items"]]
    for answered in made:
        assert client.get(f"/v1/motions/{answered['id']}", headers=auth).get_json() == answered
        assert answered["created_at"] <= answered["updated_at"]
        events = client.get(f"/v1/motions/{answered['id']}/events", headers=auth).get_json()["items"]
        assert [(e["from_status"], e["to_status"], e["source"]) for e in events[:1]] == [(None, "queued", "api")]
    assert made[0]["created_at"] == made[0]["updated_at"]
    unset = (Motion.error.is_(None), Motion.submission_evidence.is_(None), Motion.submit_attempts == 0)
    stored = session.scalars(select(Motion.id).where(Motion.id.in_([m["id"] for m in made]), *unset))
    assert sorted(stored) == sorted(m["id"] for m in made)  # SQL NULLs and defaults, as the ORM path writes them
