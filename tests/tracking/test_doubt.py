"""Submissions in doubt, with real worker and clock processes and the sandbox: evidence, then the policy."""

import pytest
from sqlalchemy import select

from app import jobs
from app.models import Motion, MotionEvent, Status
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until

GRACE = "3"  # seconds; production's default is 600
FAST = {"UNCERTAIN_GRACE": GRACE, "JOGG_READ_TIMEOUT": "1", "POLL_INTERVALS": "1"}


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def notes(session, motion_id) -> list[dict]:
    """The details of the motion's history rows, oldest first."""
    stmt = select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id)
    return [event.detail or {} for event in session.scalars(stmt.execution_options(populate_existing=True))]


def actions(session, motion_id) -> list[str]:
    """The decisions the history records about the motion's submission."""
    return [detail["action"] for detail in notes(session, motion_id) if "action" in detail]


def status_is(session, motion_id, status: str):
    """A wait_until check: the motion has reached this status."""
    return lambda: reload(session, motion_id).status == status


def in_doubt(session, motion_id) -> bool:
    """Whether the motion is flagged as a submission in doubt."""
    return reload(session, motion_id).submission_uncertain_at is not None


def test_a_post_that_never_reached_joggai_is_resubmitted_after_the_grace(
    make_motions, live_app, sandbox, session, processes
):
    """Hang before creating: nothing in JoggAI's list, so after the grace it is POSTed once more, created once."""
    sandbox_config(sandbox, hang_before_rate=1.0, hang_seconds=2, motion_seconds=0.5)
    _, (motion_id,) = make_motions(1, name="never-arrived")
    procs = processes(**FAST)
    procs.start("worker")
    procs.start("clock")
    wait_until(lambda: in_doubt(session, motion_id), timeout=30)
    sandbox_config(sandbox, hang_before_rate=0.0)
    wait_until(status_is(session, motion_id, "completed"), timeout=60, interval=0.2)

    stats = sandbox_stats(sandbox)
    assert stats["motions_created_by_name"] == {"never-arrived": 1}
    assert stats["add_motion_calls_by_name"] == {"never-arrived": 2} and stats["hangs_before_create"] == 1
    resubmitted = next(d for d in notes(session, motion_id) if d.get("action") == "resubmitted")
    assert resubmitted["attempt"] == 2 and "nothing new" in resubmitted["evidence"]["photo_avatar_list"]
    assert reload(session, motion_id).submit_attempts == 2


def test_an_answer_lost_after_creating_is_found_in_the_list_with_every_webhook_dropped(
    make_motions, sandbox, session, processes
):
    """Drop after create, no webhook ever: JoggAI's list shows the new avatar, so it completes with no second POST."""
    every_webhook_dropped = {"webhook_url": "http://127.0.0.1:9/webhooks/jogg", "webhook_drop_rate": 1.0}
    sandbox_config(sandbox, drop_after_create_rate=1.0, motion_seconds=0.5, **every_webhook_dropped)
    _, (motion_id,) = make_motions(1, name="answer-lost")
    procs = processes(**FAST)
    procs.start("worker")
    procs.start("clock")
    wait_until(status_is(session, motion_id, "completed"), timeout=60, interval=0.2)

    stats = sandbox_stats(sandbox)
    assert stats["add_motion_calls_by_name"] == {"answer-lost": 1} and stats["drops_after_create"] == 1
    assert stats["webhooks_dropped"] >= 1 and stats["webhooks_sent"] == 0
    motion = reload(session, motion_id)
    (avatar,) = [m["name"] for m in stats["motions"].values()]
    assert avatar == "answer-lost" and motion.avatar_id is not None and motion.error is None
    adopted = next(d for d in notes(session, motion_id) if d.get("adopted"))
    assert "photo-avatar list" in adopted["evidence"]
    assert "resubmitted" not in actions(session, motion_id)
    assert (motion.preview_url, motion.jogg_motion_id) == (None, None)  # the list gives no motion id, so no preview
    completed = next(d for d in notes(session, motion_id) if d.get("jogg_status") == "completed")
    assert "photo-avatar list" in completed["preview_url"]


def test_two_same_name_motions_in_doubt_at_once_each_resolve_correctly(
    make_motions, live_app, sandbox, session, processes, in_app, make_caller, jogg_app
):
    """One never reached JoggAI, one was created with its answer lost: the first is resubmitted, the second found."""
    caller_id, _ = make_caller()
    procs = processes(**FAST)
    procs.start("worker")
    sandbox_config(sandbox, hang_before_rate=1.0, hang_seconds=2, motion_seconds=0.5, webhook_drop_rate=1.0)
    _, (lost,) = make_motions(1, caller_id=caller_id, name="twin", image_url="https://img.example.com/lost.png")
    in_app(jobs.dispatch)
    wait_until(lambda: in_doubt(session, lost), timeout=30)
    sandbox_config(sandbox, hang_before_rate=0.0, drop_after_create_rate=1.0)
    _, (found,) = make_motions(1, caller_id=caller_id, name="twin", image_url="https://img.example.com/found.png")
    in_app(jobs.dispatch)
    wait_until(lambda: in_doubt(session, found), timeout=30)
    assert in_doubt(session, lost) and in_doubt(session, found)  # both in doubt at once, nothing resolves them yet
    sandbox_config(sandbox, drop_after_create_rate=0.0, webhook_drop_rate=0.0)
    procs.start("clock")
    for motion_id in (lost, found):
        wait_until(status_is(session, motion_id, "completed"), timeout=60, interval=0.2)

    stats = sandbox_stats(sandbox)
    assert stats["motions_created_by_name"] == {"twin": 2} and stats["add_motion_calls_by_name"] == {"twin": 3}
    assert "resubmitted" in actions(session, lost) and "resubmitted" not in actions(session, found)
    client = jogg_app.extensions["jogg_client"]
    images = {client.motion_status(m).avatar_id: client.motion_status(m).raw["image_url"] for m in stats["motions"]}
    assert images[reload(session, lost).avatar_id] == "https://img.example.com/lost.png"
    assert images[reload(session, found).avatar_id] == "https://img.example.com/found.png"


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [("fail", "failed"), ("wait", "queued"), ("resubmit", "failed")],
)
def test_each_policy_does_what_it_says(make_motions, sandbox, session, processes, policy, outcome):
    """No sign of the motion after the grace: fail fails it, wait leaves it to an operator, resubmit POSTs again.

    JoggAI never receives any POST here, so resubmit ends as submission_lost once SUBMIT_MAX_ATTEMPTS (2) are used.
    """
    sandbox_config(sandbox, hang_before_rate=1.0, hang_seconds=1.5)
    _, (motion_id,) = make_motions(1, name=f"policy-{policy}")
    procs = processes(**FAST, UNCERTAIN_POLICY=policy, SUBMIT_MAX_ATTEMPTS="2")
    procs.start("worker")
    procs.start("clock")
    if policy == "wait":
        wait_until(lambda: "waiting for an operator" in actions(session, motion_id), timeout=60, interval=0.2)
    else:
        wait_until(status_is(session, motion_id, "failed"), timeout=60, interval=0.2)

    motion = reload(session, motion_id)
    calls = sandbox_stats(sandbox)["add_motion_calls_by_name"][f"policy-{policy}"]
    assert motion.status == outcome and sandbox_stats(sandbox)["motions_created"] == 0
    if policy == "wait":
        assert motion.submission_uncertain_at is not None and calls == 1
    else:
        assert motion.error["code"] == "submission_lost"
        assert calls == (2 if policy == "resubmit" else 1)
        assert actions(session, motion_id).count("resubmitted") == (1 if policy == "resubmit" else 0)


def test_an_interrupted_submission_is_known_within_seconds(make_motions, sandbox, session, processes):
    """A worker killed mid-POST: flagged as soon as its job is dead (not after 240 s); then the list finds it."""
    sandbox_config(sandbox, hang_rate=1.0, hang_seconds=30, motion_seconds=0.5, webhook_drop_rate=1.0)
    _, (motion_id,) = make_motions(1, name="killed-mid-post")
    procs = processes(**{**FAST, "JOGG_READ_TIMEOUT": "60"})
    worker = procs.start("worker")
    procs.start("clock")
    wait_until(lambda: sandbox_stats(sandbox)["add_motion_calls"] == 1, timeout=30)
    procs.kill(worker)  # JoggAI has the motion; the answer will never be recorded
    wait_until(lambda: in_doubt(session, motion_id) or reload(session, motion_id).status != Status.QUEUED, timeout=30)
    assert any("submit job died" in d.get("reason", "") for d in notes(session, motion_id))
    procs.start("worker")
    wait_until(status_is(session, motion_id, "completed"), timeout=60, interval=0.2)
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"killed-mid-post": 1}
