"""The outbox: a motion and its work are committed together, enqueued after commit, and recovered from SQL."""

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select

from app import create_app, queues
from app.domain import outbox
from app.domain.motions import create_motion
from app.extensions import db
from app.models import Caller, Motion, MotionEvent, OutboxEntry
from devstack.redis import free_port
from workers.sweep import requeue_stale_outbox

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def counts(session):
    """How many motions, events and outbox rows exist."""
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Motion, MotionEvent, OutboxEntry))


def record_entries(app, count: int) -> list[int]:
    """Commit `count` outbox rows (of the older dispatch kind, still honoured) through the app's session."""
    with app.app_context():
        entries = [outbox.record(db.session, outbox.DISPATCH) for _ in range(count)]
        db.session.commit()
        ids = [entry.id for entry in entries]
        db.session.remove()
    return ids


def test_motion_and_event_commit_together(session, make_caller):
    """Committed: the motion and its event exist; no outbox row, the queued motion is the work record."""
    caller = session.get(Caller, make_caller()[0])
    create_motion(session, caller, dict(VALID))
    session.commit()
    assert counts(session) == (1, 1, 0)


def test_motion_and_event_roll_back_together(session, make_caller):
    """Rolled back (say the commit failed): neither exists, and no dispatch nudge is left pending."""
    caller = session.get(Caller, make_caller()[0])
    create_motion(session, caller, dict(VALID))
    session.flush()
    assert outbox.NUDGE_DISPATCH in session.info[outbox.NUDGES_KEY]
    session.rollback()
    assert counts(session) == (0, 0, 0)
    assert outbox.NUDGES_KEY not in session.info


def test_failure_inside_the_request_leaves_nothing(app, auth, session, monkeypatch):
    """If the request fails after writing rows but before commit, nothing is stored or enqueued."""
    import app.api.motions as motions_api

    def exploding_dump(_motion):
        raise RuntimeError("boom after flush")

    monkeypatch.setattr(motions_api.motion_schema, "dump", exploding_dump)
    resp = app.test_client().post("/v1/motions", json=VALID, headers=auth)
    assert resp.status_code == 500
    assert counts(session) == (0, 0, 0)
    assert Queue(queues.DEFAULT, connection=app.extensions["redis"]).count == 0


def test_new_motions_share_one_dispatch_nudge(client, auth, session, redis_client, run_jobs):
    """Five motions accepted in a row enqueue one dispatch job; running it dispatches and frees the nudge."""
    for i in range(5):
        assert client.post("/v1/motions", json={**VALID, "name": f"m{i}"}, headers=auth).status_code == 202
    queue = Queue(queues.DEFAULT, connection=redis_client)
    assert [job.func_name for job in queue.jobs] == [queues.DISPATCH_JOB]
    run_jobs()
    assert redis_client.exists(queues.nudge_lock(outbox.NUDGE_DISPATCH)) == 0
    # dispatched, and each submit job ran (no JoggAI is listening here, so each waits for a retry)
    attempts = session.scalars(select(Motion.submit_attempts).execution_options(populate_existing=True)).all()
    assert attempts == [1] * 5
    client.post("/v1/motions", json={**VALID, "name": "later"}, headers=auth)
    assert [job.func_name for job in queue.jobs] == [queues.DISPATCH_JOB]


def test_a_nudge_with_the_budget_spent_keeps_its_hold(app, client, auth, session, redis_client, run_jobs, monkeypatch):
    """No JoggAI slot free: the nudged job dispatches nothing and leaves the 1 s hold, so new motions add no jobs."""
    monkeypatch.setattr(queues, "NUDGE_HOLD_MS", 60_000)  # a slow machine must not let the hold run out on its own
    budget = app.extensions["post_budget"]
    while budget.try_acquire():
        pass
    client.post("/v1/motions", json=VALID, headers=auth)
    run_jobs()
    assert redis_client.exists(queues.nudge_lock(outbox.NUDGE_DISPATCH)) == 1
    client.post("/v1/motions", json={**VALID, "name": "second"}, headers=auth)
    assert Queue(queues.DEFAULT, connection=redis_client).count == 0
    assert session.scalars(select(Motion.dispatched_at)).all() == [None, None]


def test_enqueued_after_commit_and_done_by_a_worker(app, session, redis_client, run_jobs):
    """A committed outbox row is enqueued under a deterministic id; the worker marks it done."""
    (entry_id,) = record_entries(app, 1)
    queue = Queue(queues.DEFAULT, connection=redis_client)
    assert queue.job_ids == [f"outbox-{entry_id}"]
    run_jobs()
    assert session.get(OutboxEntry, entry_id, populate_existing=True).done_at is not None
    assert queue.count == 0


def test_running_a_job_twice_is_harmless(session, app, run_jobs):
    """A repeated job finds its entry done and does nothing more."""
    from workers.jobs import run_outbox_entry

    (entry_id,) = record_entries(app, 1)
    run_jobs()
    done_at = session.get(OutboxEntry, entry_id).done_at
    with app.app_context():
        run_outbox_entry(entry_id)
        db.session.remove()
    again = session.get(OutboxEntry, entry_id, populate_existing=True)
    assert (again.done_at, again.attempts) == (done_at, 1)


def test_accepts_with_redis_down_and_the_clock_dispatches(settings, make_caller, session, app):
    """With Redis unreachable the motion is still accepted (202); the clock's next dispatch picks it up."""
    from workers.jobs import dispatch

    _, key = make_caller()
    offline = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    resp = offline.test_client().post("/v1/motions", json=VALID, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 202
    with app.app_context():
        assert dispatch() == [resp.get_json()["id"]]
        db.session.remove()


def test_outbox_rows_are_recovered_when_redis_was_down(settings, session, app, run_jobs):
    """An outbox row committed while Redis was unreachable is enqueued by a later sweep."""
    offline = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    (entry_id,) = record_entries(offline, 1)
    entry = session.get(OutboxEntry, entry_id)
    assert entry.done_at is None
    _age(session, entry)
    with app.app_context():
        assert requeue_stale_outbox(db.session, app.extensions["redis"]) == 1
    run_jobs()
    assert session.get(OutboxEntry, entry_id, populate_existing=True).done_at is not None


def test_sweep_after_redis_forgot_everything_requeues_once(session, app, redis_client, run_jobs):
    """After Redis forgets everything, one sweep re-enqueues each pending entry once, even if run twice."""
    record_entries(app, 3)
    redis_client.flushdb()
    for entry in session.scalars(select(OutboxEntry)):
        _age(session, entry)
    with app.app_context():
        assert requeue_stale_outbox(db.session, redis_client) == 3
        requeue_stale_outbox(db.session, redis_client)
    assert Queue(queues.DEFAULT, connection=redis_client).count == 3
    run_jobs()
    assert all(e.done_at for e in session.scalars(select(OutboxEntry).execution_options(populate_existing=True)))


@pytest.mark.parametrize("age_seconds", [0, 5])
def test_sweep_leaves_fresh_entries_alone(session, app, redis_client, age_seconds):
    """Entries younger than 30 s are left to their own enqueue."""
    (entry_id,) = record_entries(app, 1)
    entry = session.get(OutboxEntry, entry_id)
    entry.due_at = entry.due_at - timedelta(seconds=age_seconds)
    session.commit()
    redis_client.flushdb()
    with app.app_context():
        assert requeue_stale_outbox(db.session, redis_client) == 0


def _age(session, entry: OutboxEntry) -> None:
    """Make an entry look older than the sweep's threshold."""
    entry = session.get(OutboxEntry, entry.id)
    entry.due_at = entry.due_at - timedelta(minutes=1)
    session.commit()


def test_sweep_job_purges_expired_idempotency_keys(client, auth, session, app):
    """The periodic sweep deletes idempotency keys past their 24 h and keeps live ones."""
    from datetime import timedelta

    from app.models import IdempotencyKey
    from app.models.types import utcnow
    from workers.jobs import sweep

    for key in ("old", "new"):
        client.post("/v1/motions", json={**VALID, "name": key}, headers={**auth, "Idempotency-Key": key})
    old = session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "old")).one()
    old.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    with app.app_context():
        sweep()
        db.session.remove()
    assert session.scalars(select(IdempotencyKey.key)).all() == ["new"]


def test_a_queued_job_no_queue_holds_is_replaced(app, session, redis_client):
    """A worker killed right after dequeuing leaves the job 'queued' but in no queue: a re-enqueue replaces it."""
    from rq.job import Job

    record_entries(app, 1)
    entry = session.scalars(select(OutboxEntry)).one()
    queue = Queue(queues.DEFAULT, connection=redis_client)
    queue.remove(entry.job_id)  # what a dequeue does; the job hash still says queued
    assert Job.fetch(entry.job_id, connection=redis_client).get_status() == "queued"
    assert not queues.is_live(Job.fetch(entry.job_id, connection=redis_client), redis_client)
    queues.enqueue_entries(redis_client, [(entry.id, entry.kind)])
    assert queue.job_ids == [entry.job_id]
