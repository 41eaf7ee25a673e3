"""Reuse: an identical motion takes a completed one's result, or follows a queued or processing one, for 0 credits."""

from datetime import timedelta

from sqlalchemy import select

from app.domain.dispatch import ready_to_submit
from app.models import Caller, Motion, MotionEvent, NotificationEvent, Status
from app.models.types import utcnow

MOTION = {"image_url": "https://example.com/a.png", "name": "same", "voice_id": "v", "model": "2.0"}


def _headers(key):
    return {"Authorization": f"Bearer {key}"}


def _complete(session, motion_id, age=timedelta(0)):
    """Mark a motion completed as JoggAI would have made it."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    motion.status, motion.completed_at = Status.COMPLETED, utcnow() - age
    motion.jogg_motion_id, motion.avatar_id, motion.preview_url = f"jm-{motion_id}", 77, "https://cdn.example/p.mp4"
    motion.credits, motion.charged_at = 2, utcnow() - age
    session.commit()


def test_an_identical_completed_motion_is_reused_at_once_for_nothing(client, session, make_caller):
    """reuse: true finds the completed twin: 202, completed with its ids and preview, 0 credits, history `reuse`."""
    caller_id, key = make_caller()
    caller = session.get(Caller, caller_id)
    caller.default_callback_url = "https://hooks.example.com/motions"
    session.commit()
    first = client.post("/v1/motions", json=MOTION, headers=_headers(key)).get_json()
    _complete(session, first["id"])
    resp = client.post("/v1/motions", json={**MOTION, "reuse": True}, headers=_headers(key))
    assert resp.status_code == 202
    body = resp.get_json()
    assert (body["status"], body["reused_from"], body["credits"], body["reuse"]) == ("completed", first["id"], 0, True)
    assert (body["jogg_motion_id"], body["avatar_id"]) == (f"jm-{first['id']}", 77)
    assert body["preview_url"] == "https://cdn.example/p.mp4" and body["completed_at"] is not None
    history = client.get(f"/v1/motions/{body['id']}/events", headers=_headers(key)).get_json()["items"]
    assert [(e["to_status"], e["source"]) for e in history] == [
        ("queued", "api"),
        ("processing", "reuse"),
        ("completed", "reuse"),
    ]
    events = session.scalars(select(NotificationEvent).where(NotificationEvent.motion_id == body["id"])).all()
    assert [e.type for e in events] == ["motion.processing", "motion.completed"]
    assert events[1].data["reused_from"] == first["id"] and events[1].data["credits"] == 0
    assert client.get(f"/v1/motions/{body['id']}", headers=_headers(key)).get_json()["jogg_motion_id"] == (
        f"jm-{first['id']}"
    )


def test_no_reuse_unless_asked_identical_young_enough_and_the_same_callers(client, session, make_caller, app):
    """reuse false, another field different, another caller, or a twin older than REUSE_MAX_AGE: a new motion."""
    caller_id, key = make_caller()
    _, other = make_caller()
    first = client.post("/v1/motions", json=MOTION, headers=_headers(key)).get_json()
    _complete(session, first["id"])
    old = client.post("/v1/motions", json={**MOTION, "name": "old"}, headers=_headers(key)).get_json()
    _complete(session, old["id"], age=timedelta(seconds=app.config["SETTINGS"].reuse_max_age + 60))
    for body, headers in [
        (MOTION, _headers(key)),
        ({**MOTION, "reuse": True, "welcome_msg": "hi"}, _headers(key)),
        ({**MOTION, "reuse": True}, _headers(other)),
        ({**MOTION, "reuse": True, "name": "old"}, _headers(key)),
    ]:
        made = client.post("/v1/motions", json=body, headers=headers).get_json()
        assert (made["status"], made["reused_from"], made["credits"]) == ("queued", None, None), body


def test_an_identical_queued_motion_is_followed_and_never_dispatched(client, session, make_caller):
    """The follower stays queued with reused_from set, out of dispatch; it costs no quota room."""
    caller_id, key = make_caller()
    caller = session.get(Caller, caller_id)
    caller.quota_credits, caller.quota_period = 2, "day"
    session.commit()
    leader = client.post("/v1/motions", json=MOTION, headers=_headers(key)).get_json()
    follower = client.post("/v1/motions", json={**MOTION, "reuse": True}, headers=_headers(key)).get_json()
    assert (follower["status"], follower["reused_from"]) == ("queued", leader["id"])
    assert client.post("/v1/motions", json={**MOTION, "name": "x"}, headers=_headers(key)).status_code == 429
    ready = set(session.scalars(select(Motion.id).where(*ready_to_submit(utcnow()))))
    assert leader["id"] in ready and follower["id"] not in ready


def test_followers_end_as_their_leader_ends(client, session, make_caller):
    """A leader completing completes its followers; one failing fails them, with its error, in the same transaction."""
    from app.domain.transitions import transition
    from app.models import Source

    _, key = make_caller()
    outcomes = {}
    for name, target in (("ok", Status.COMPLETED), ("bad", Status.FAILED)):
        leader = client.post("/v1/motions", json={**MOTION, "name": name}, headers=_headers(key)).get_json()
        follower = client.post("/v1/motions", json={**MOTION, "name": name, "reuse": True}, headers=_headers(key))
        motion = session.get(Motion, leader["id"])
        transition(session, motion, Status.PROCESSING, Source.WORKER)
        motion.jogg_motion_id, motion.credits = f"jm-{name}", 2
        if target is Status.FAILED:
            motion.error = {"code": "jogg_failed", "message": "JoggAI could not animate it", "jogg_code": None}
        else:
            motion.preview_url = "https://cdn.example/ok.mp4"
        transition(session, motion, target, Source.POLL)
        session.commit()
        outcomes[name] = client.get(f"/v1/motions/{follower.get_json()['id']}", headers=_headers(key)).get_json()
    done, failed = outcomes["ok"], outcomes["bad"]
    assert (done["status"], done["jogg_motion_id"], done["preview_url"], done["credits"]) == (
        "completed",
        "jm-ok",
        "https://cdn.example/ok.mp4",
        0,
    )
    assert (failed["status"], failed["error"]["message"], failed["credits"]) == (
        "failed",
        "JoggAI could not animate it",
        0,
    )


def test_a_cancelled_leader_releases_its_followers_to_be_submitted(client, session, make_caller):
    """Cancelling the leader leaves the follower queued on its own, ready for dispatch."""
    _, key = make_caller()
    leader = client.post("/v1/motions", json=MOTION, headers=_headers(key)).get_json()
    follower = client.post("/v1/motions", json={**MOTION, "reuse": True}, headers=_headers(key)).get_json()
    assert client.post(f"/v1/motions/{leader['id']}/cancel", headers=_headers(key)).status_code == 200
    motion = session.get(Motion, follower["id"], populate_existing=True)
    assert (motion.status, motion.reused_from) == (Status.QUEUED, None)
    assert motion.id in set(session.scalars(select(Motion.id).where(*ready_to_submit(utcnow()))))


def test_a_retried_failed_follower_is_submitted_itself(client, session, make_caller):
    """A follower that failed with its leader, retried, no longer follows anything."""
    from app.domain.transitions import transition
    from app.models import Source

    _, key = make_caller()
    leader = client.post("/v1/motions", json=MOTION, headers=_headers(key)).get_json()
    follower = client.post("/v1/motions", json={**MOTION, "reuse": True}, headers=_headers(key)).get_json()
    motion = session.get(Motion, leader["id"])
    motion.error = {"code": "image_rejected", "message": "too small", "jogg_code": None}
    transition(session, motion, Status.FAILED, Source.PREFLIGHT)
    session.commit()
    retried = client.post(f"/v1/motions/{follower['id']}/retry", headers=_headers(key)).get_json()
    assert (retried["status"], retried["reused_from"], retried["credits"]) == ("queued", None, None)
    events = session.scalars(select(MotionEvent.source).where(MotionEvent.motion_id == follower["id"])).all()
    assert events == ["api", "reuse", "api"]
