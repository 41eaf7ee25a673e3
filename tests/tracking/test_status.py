"""Learning outcomes: webhooks alone, polling alone, duplicates and disorder, early webhooks, expiry."""

import json
import time
from datetime import timedelta

import requests
from sqlalchemy import select

from app import jobs
from app.domain import submission
from app.extensions import db
from app.jogg import AddMotionResult
from app.models import EventState, JoggEvent, Motion, MotionEvent
from app.models.types import utcnow
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until
from tests.tracking.conftest import sign


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def history(session, motion_id) -> list[tuple]:
    """(from, to, source) of every status change."""
    events = session.scalars(select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id))
    return [(e.from_status, e.to_status, e.source) for e in events]


def submit(in_app, run_jobs) -> None:
    """Dispatch and run the submit jobs."""
    in_app(jobs.dispatch)
    run_jobs()


def test_completes_through_webhooks_alone(make_motions, live_app, sandbox, session, in_app, run_jobs):
    """No polls due: the sandbox's signed webhook triggers the status check that completes the motion."""
    sandbox_config(sandbox, motion_seconds=0.3)
    _, (motion_id,) = make_motions(1)
    submit(in_app, run_jobs)
    wait_until(lambda: session.scalar(select(JoggEvent.id).execution_options(populate_existing=True)), timeout=10)
    run_jobs()
    motion = reload(session, motion_id)
    assert motion.status == "completed" and motion.preview_url and motion.next_poll_at is None
    assert history(session, motion_id)[-1] == ("processing", "completed", "webhook")
    assert session.scalars(select(JoggEvent)).one().state == EventState.APPLIED


def test_failure_through_webhook_stores_joggs_message(make_motions, live_app, sandbox, session, in_app, run_jobs):
    """A failed motion (v1 vocabulary: 'error') fails here with JoggAI's error message."""
    sandbox_config(sandbox, motion_seconds=0.3, failure_rate=1.0, status_vocabulary="v1")
    _, (motion_id,) = make_motions(1)
    submit(in_app, run_jobs)
    wait_until(lambda: session.scalar(select(JoggEvent.id).execution_options(populate_existing=True)), timeout=10)
    run_jobs()
    motion = reload(session, motion_id)
    assert motion.status == "failed"
    assert motion.error["code"] == "jogg_failed" and motion.error["message"]


def test_completes_through_polling_when_every_webhook_is_dropped(
    make_motions, live_app, sandbox, session, in_app, run_jobs, jogg_app
):
    """With all webhooks dropped, the scheduled status checks finish the motions (source poll)."""
    sandbox_config(sandbox, motion_seconds=0.3, webhook_drop_rate=1.0)
    jogg_app.config["SETTINGS"] = jogg_app.config["SETTINGS"].with_overrides(poll_intervals=(1,))
    _, ids = make_motions(3)
    submit(in_app, run_jobs)
    time.sleep(1.2)
    assert in_app(jobs.enqueue_due_polls) == 3
    run_jobs()
    assert [reload(session, m).status for m in ids] == ["completed"] * 3
    assert all(history(session, m)[-1][2] == "poll" for m in ids)
    assert sandbox_stats(sandbox)["webhooks_dropped"] >= 3
    assert session.scalar(select(JoggEvent.id)) is None


def test_still_running_reschedules_the_next_poll(make_motions, sandbox, session, in_app, run_jobs, jogg_app):
    """A poll that finds the motion running pushes the next poll out, never closer than 10 s."""
    _, (motion_id,) = make_motions(1)
    submit(in_app, run_jobs)
    motion = reload(session, motion_id)
    motion.next_poll_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert in_app(jobs.poll_motion, motion_id) == "running"
    motion = reload(session, motion_id)
    assert motion.poll_count == 1 and motion.next_poll_at >= utcnow() + timedelta(seconds=9)


def test_duplicated_and_out_of_order_webhooks_leave_one_clean_history(
    make_motions, live_app, sandbox, session, in_app, run_jobs
):
    """Every webhook sent twice, plus a late contradicting one: one completion, the rest recorded as ignored."""
    sandbox_config(sandbox, motion_seconds=0.3, webhook_duplicate_rate=1.0)
    _, (motion_id,) = make_motions(1)
    submit(in_app, run_jobs)
    wait_until(lambda: sandbox_stats(sandbox)["webhooks_duplicated"] >= 1, timeout=10)
    jogg_id = reload(session, motion_id).jogg_motion_id
    late = json.dumps({"event_id": "late-1", "event": "generated_motion_failed", "data": {"motion_id": jogg_id}})
    resp = requests.post(
        f"{live_app}/webhooks/jogg", data=late, timeout=5,
        headers={"X-Webhook-Signature": sign(late.encode()), "Content-Type": "application/json"},
    )  # fmt: skip
    assert resp.status_code == 200
    run_jobs()
    assert history(session, motion_id) == [(None, "queued", "api"), ("queued", "processing", "worker"),
                                           ("processing", "completed", "webhook")]  # fmt: skip
    events = session.scalars(select(JoggEvent).order_by(JoggEvent.id)).all()
    assert [e.state for e in events] == [EventState.APPLIED, EventState.IGNORED]
    assert events[0].duplicates >= 1 and "already completed" in events[1].outcome


def test_webhook_before_our_commit_is_parked_then_matched(make_motions, live_app, sandbox, session, in_app, run_jobs):
    """JoggAI's webhook arrives before we stored its motion id: parked, then applied once the id is known."""
    sandbox_config(sandbox, motion_seconds=0.2)
    _, (motion_id,) = make_motions(1, name="early")
    motion = reload(session, motion_id)
    answer = requests.post(
        f"{sandbox.base_url}/v2/photo_avatar/add_motion", headers={"x-api-key": "sandbox-key"}, timeout=5,
        json={"image_url": motion.image_url, "name": "a-different-name", "voice_id": motion.voice_id, "model": "2.0"},
    ).json()  # fmt: skip
    jogg_id = answer["data"]["motion_id"]
    wait_until(lambda: session.scalar(select(JoggEvent.id).execution_options(populate_existing=True)), timeout=10)
    run_jobs()
    assert session.scalars(select(JoggEvent)).one().state == EventState.PARKED
    motion.submit_started_at, motion.submit_attempts = utcnow(), 1  # our POST "went out"
    session.commit()
    policy = submission.Policy(max_attempts=5, retry_base=1, first_poll=120, probe_interval=60, window_seconds=60)
    in_app(lambda: submission._on_accepted(db.session, motion_id, AddMotionResult(jogg_id, "pending"), policy))
    run_jobs()
    assert reload(session, motion_id).status == "completed"
    assert session.scalars(select(JoggEvent).execution_options(populate_existing=True)).one().state == "applied"


def test_max_age_fails_the_motion_with_its_code(make_motions, sandbox, session, in_app, run_jobs, jogg_app):
    """A submitted motion unfinished after MOTION_MAX_AGE fails with motion_expired; one still waiting stays queued."""
    _, (old, fresh) = make_motions(2)
    submit(in_app, run_jobs)
    _, (waiting,) = make_motions(1)
    long_ago = utcnow() - timedelta(seconds=jogg_app.config["SETTINGS"].motion_max_age + 60)
    for motion_id in (old, waiting):
        reload(session, motion_id).created_at = long_ago
    session.commit()
    in_app(jobs.sweep)
    assert reload(session, old).status == "failed"
    assert reload(session, old).error["code"] == "motion_expired"
    assert reload(session, fresh).status == "processing"
    assert reload(session, waiting).status == "queued"  # never submitted: a pause or backlog does not fail it


def test_unknown_submission_outcome_is_resolved_by_the_webhook(
    make_motions, live_app, sandbox, session, in_app, run_jobs, jogg_app
):
    """A POST that timed out (motion flagged uncertain) is adopted when JoggAI's webhook for it arrives."""
    sandbox_config(sandbox, hang_rate=1.0, hang_seconds=3, motion_seconds=0.2)
    jogg_app.extensions["jogg_client"].timeout = (3.05, 0.5)
    _, (motion_id,) = make_motions(1, name="timed-out")
    submit(in_app, run_jobs)  # the POST times out after 0.5 s: outcome unknown, not resubmitted
    jogg_app.extensions["jogg_client"].timeout = (3.05, 10)  # the status check must not time out on a busy host
    wait_until(lambda: session.scalar(select(JoggEvent.id).execution_options(populate_existing=True)), timeout=15)
    run_jobs()
    motion = reload(session, motion_id)
    assert motion.status == "completed" and motion.jogg_motion_id and motion.submission_uncertain_at is None
    adopted = session.scalars(select(MotionEvent).where(MotionEvent.to_status == "processing")).one()
    assert adopted.detail["adopted"] is True
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"timed-out": 1}
    assert history(session, motion_id)[1:] == [
        ("queued", "queued", "worker"),  # the note that its submission is in doubt
        ("queued", "processing", "webhook"),
        ("processing", "completed", "webhook"),
    ]
