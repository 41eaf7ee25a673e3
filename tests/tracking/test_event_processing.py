"""Stored webhook events are processed by nudged jobs that share the backlog; failures are left to the sweep."""

import json

from rq import Queue
from sqlalchemy import select, update

from app import jobs, queues
from app.extensions import db
from app.jobs import nudge_waiting_events
from app.models import EventState, JoggEvent, Motion
from tests.jogg_fixtures import wait_until
from tests.tracking.conftest import sign


def post_webhook(client, jogg_id: str, event_id: str):
    """A signed generated_motion_success for this JoggAI motion."""
    raw = json.dumps({"event_id": event_id, "event": "generated_motion_success", "data": {"motion_id": jogg_id}})
    return client.post("/webhooks/jogg", data=raw, headers={"X-Webhook-Signature": sign(raw.encode())})


def submitted(make_motions, in_app, run_jobs, session, count: int) -> list[Motion]:
    """`count` motions submitted to the sandbox (processing, with JoggAI ids)."""
    _, ids = make_motions(count)
    in_app(jobs.dispatch)
    run_jobs()
    return [session.get(Motion, motion_id, populate_existing=True) for motion_id in ids]


def test_a_burst_of_webhooks_shares_one_job_that_applies_them_all(
    make_motions, jogg_app, sandbox, session, in_app, run_jobs, redis_client
):
    """Five webhooks in a row: one processing job waits; run once, it completes all five motions."""
    from tests.jogg_fixtures import sandbox_config

    sandbox_config(sandbox, motion_seconds=0.1)
    motions = submitted(make_motions, in_app, run_jobs, session, 5)
    client = jogg_app.test_client()
    with jogg_app.app_context():
        wait_until(lambda: all(jogg_app.extensions["jogg_client"].motion_status(m.jogg_motion_id).status
                               == "completed" for m in motions), timeout=10)  # fmt: skip
    for i, motion in enumerate(motions):
        assert post_webhook(client, motion.jogg_motion_id, f"burst-{i}").status_code == 200
    waiting = [job.func_name for job in Queue(queues.DEFAULT, connection=redis_client).jobs]
    assert waiting.count(queues.path_of(jobs.process_jogg_events)) == 1
    run_jobs()
    assert {session.get(Motion, m.id, populate_existing=True).status for m in motions} == {"completed"}
    assert set(session.scalars(select(JoggEvent.state))) == {EventState.APPLIED}


def test_a_failing_status_check_leaves_the_event_for_the_sweep(
    make_motions, jogg_app, sandbox, session, in_app, run_jobs
):
    """JoggAI unreachable during processing: the job moves on (no retry loop), the event stays received."""
    from app import create_app

    motion = submitted(make_motions, in_app, run_jobs, session, 1)[0]
    offline = create_app(jogg_app.config["SETTINGS"].with_overrides(jogg_base_url="http://127.0.0.1:9"))
    assert post_webhook(offline.test_client(), motion.jogg_motion_id, "while-down").status_code == 200
    with offline.app_context():
        assert jobs.process_jogg_events() == 0
        db.session.remove()
    event = session.scalars(select(JoggEvent)).one()
    assert event.state == EventState.RECEIVED
    with jogg_app.app_context():  # JoggAI is back: the sweep nudges the waiting event's processing
        assert nudge_waiting_events(db.session, jogg_app.extensions["redis"], stale_after=0) == 1
        db.session.remove()
    run_jobs()
    assert session.get(JoggEvent, event.id, populate_existing=True).state in (EventState.APPLIED, EventState.IGNORED)


def test_events_for_unknown_motions_are_parked_in_one_pass_without_asking_joggai(jogg_app, sandbox, session):
    """Twenty webhooks for motions we do not know (and no submission in doubt): all parked, no status check."""
    from tests.jogg_fixtures import sandbox_stats

    client = jogg_app.test_client()
    for i in range(20):
        assert post_webhook(client, f"unknown-{i}", f"unknown-{i}").status_code == 200
    gets_before = sandbox_stats(sandbox)["status_checks"]
    with jogg_app.app_context():
        assert jobs.process_jogg_events() == 20
        db.session.remove()
    assert set(session.scalars(select(JoggEvent.state))) == {EventState.PARKED}
    assert sandbox_stats(sandbox)["status_checks"] == gets_before


def test_a_claimed_event_waits_for_its_claim_to_end_or_run_out(
    make_motions, jogg_app, sandbox, session, in_app, run_jobs
):
    """A second job cannot claim or process an event another holds; once that claim's lease has run out, it can."""
    from datetime import timedelta

    from app.domain import jogg_events
    from app.models.types import utcnow

    motion = submitted(make_motions, in_app, run_jobs, session, 1)[0]
    assert post_webhook(jogg_app.test_client(), motion.jogg_motion_id, "held").status_code == 200
    with jogg_app.app_context():
        (event,) = jogg_events.claim(db.session, "first", 10, timedelta(minutes=1))
        db.session.commit()
        assert jogg_events.claim(db.session, "second", 10, timedelta(minutes=1)) == []
        outcome = jogg_events.process(db.session, event.id, "second", jogg_app.extensions["jogg_client"], (60,))
        assert outcome == "not claimed by this job"
        db.session.execute(update(JoggEvent).values(claimed_until=utcnow() - timedelta(seconds=1)))  # "first" died
        db.session.commit()
        assert [e.id for e in jogg_events.claim(db.session, "second", 10, timedelta(minutes=1))] == [event.id]
        db.session.commit()
        db.session.remove()
    assert session.get(JoggEvent, event.id, populate_existing=True).claimed_by == "second"
