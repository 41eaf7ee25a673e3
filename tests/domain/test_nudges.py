"""Nudges: a motion and the dispatch it asks for are committed together, and the job is enqueued after commit."""

from rq import Queue
from sqlalchemy import func, select

from app import create_app, jobs, nudges, queues
from app.domain.motions import create_motion
from app.extensions import db
from app.models import Caller, Motion, MotionEvent
from devstack.redis import free_port

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}


def counts(session):
    """How many motions and motion events exist."""
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Motion, MotionEvent))


def test_motion_and_event_commit_together(session, make_caller):
    """Committed: the motion and its event exist; the queued motion is the work record."""
    caller = session.get(Caller, make_caller()[0])
    create_motion(session, caller, dict(VALID))
    session.commit()
    assert counts(session) == (1, 1)


def test_motion_and_event_roll_back_together(session, make_caller):
    """Rolled back (say the commit failed): neither exists, and no dispatch nudge is left pending."""
    caller = session.get(Caller, make_caller()[0])
    create_motion(session, caller, dict(VALID))
    session.flush()
    assert nudges.UNCHECKED in nudges.asked(session)
    session.rollback()
    assert counts(session) == (0, 0)
    assert nudges.asked(session) == set()


def test_failure_inside_the_request_leaves_nothing(app, auth, session, monkeypatch):
    """If the request fails after writing rows but before commit, nothing is stored or enqueued."""
    import app.api.motions as motions_api

    def exploding_dump(_motion):
        raise RuntimeError("boom after flush")

    monkeypatch.setattr(motions_api, "motion_json", exploding_dump)
    resp = app.test_client().post("/v1/motions", json=VALID, headers=auth)
    assert resp.status_code == 500
    assert counts(session) == (0, 0)
    assert Queue(queues.DEFAULT, connection=app.extensions["redis"]).count == 0


def test_new_motions_share_one_dispatch_nudge(client, auth, session, redis_client, run_jobs):
    """Five motions accepted in a row enqueue one dispatch job; running it dispatches and frees the nudge."""
    for i in range(5):
        assert client.post("/v1/motions", json={**VALID, "name": f"m{i}"}, headers=auth).status_code == 202
    queue = Queue(queues.DEFAULT, connection=redis_client)
    assert [job.func_name for job in queue.jobs] == [queues.path_of(jobs.dispatch_now)]
    run_jobs()
    assert redis_client.exists(queues.nudge_lock(nudges.DISPATCH)) == 0
    # dispatched, and each submit job ran (no JoggAI is listening here, so each waits for a retry)
    attempts = session.scalars(select(Motion.submit_attempts).execution_options(populate_existing=True)).all()
    assert attempts == [1] * 5
    client.post("/v1/motions", json={**VALID, "name": "later"}, headers=auth)
    assert [job.func_name for job in queue.jobs] == [queues.path_of(jobs.dispatch_now)]


def test_a_nudge_with_the_budget_spent_keeps_its_hold(app, client, auth, session, redis_client, run_jobs, monkeypatch):
    """No JoggAI slot free: the nudged job dispatches nothing and leaves the 1 s hold, so new motions add no jobs."""
    monkeypatch.setattr(queues, "NUDGE_HOLD_MS", 60_000)  # a slow machine must not let the hold run out on its own
    budget = app.extensions["post_budget"]
    while budget.try_acquire():
        pass
    client.post("/v1/motions", json=VALID, headers=auth)
    run_jobs()
    assert redis_client.exists(queues.nudge_lock(nudges.DISPATCH)) == 1
    client.post("/v1/motions", json={**VALID, "name": "second"}, headers=auth)
    assert Queue(queues.DEFAULT, connection=redis_client).count == 0
    assert session.scalars(select(Motion.dispatched_at)).all() == [None, None]


def test_accepts_with_redis_down_and_the_clock_dispatches(settings, make_caller, session, app):
    """With Redis unreachable the motion is still accepted (202); the clock's next dispatch picks it up."""
    _, key = make_caller()
    offline = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    resp = offline.test_client().post("/v1/motions", json=VALID, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 202
    with app.app_context():
        assert jobs.dispatch() == [resp.get_json()["id"]]
        db.session.remove()


def test_sweep_job_purges_expired_idempotency_keys(client, auth, session, app):
    """The periodic sweep deletes idempotency keys past their 24 h and keeps live ones."""
    from datetime import timedelta

    from app.models import IdempotencyKey
    from app.models.types import utcnow

    for key in ("old", "new"):
        client.post("/v1/motions", json={**VALID, "name": key}, headers={**auth, "Idempotency-Key": key})
    old = session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == "old")).one()
    old.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    with app.app_context():
        jobs.sweep()
        db.session.remove()
    assert session.scalars(select(IdempotencyKey.key)).all() == ["new"]


def test_a_queued_job_no_queue_holds_is_replaced(app, session, redis_client):
    """A worker killed right after dequeuing leaves the job 'queued' but in no queue: a re-enqueue replaces it."""
    from rq.job import Job

    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    queue = Queue(queues.DEFAULT, connection=redis_client)
    queue.remove("resolve-doubts")  # what a dequeue does; the job hash still says queued
    assert Job.fetch("resolve-doubts", connection=redis_client).get_status() == "queued"
    assert not queues.is_live(Job.fetch("resolve-doubts", connection=redis_client), redis_client)
    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    assert queue.job_ids == ["resolve-doubts"]


def test_a_live_job_is_not_enqueued_twice(app, session, redis_client):
    """A job waiting under its deterministic id is left alone by a second enqueue."""
    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    assert Queue(queues.DEFAULT, connection=redis_client).job_ids == ["resolve-doubts"]


def test_a_job_that_ends_between_the_check_and_the_fetch_is_enqueued_again(app, session, redis_client, monkeypatch):
    """Redis says the id is taken, then the job's record is gone by the fetch: the job is enqueued, not crashed on."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    real_fetch = Job.fetch

    def fetch_after_the_end(job_id, connection=None, **kwargs):
        real_fetch(job_id, connection=redis_client).delete()  # the job finished and its record expired just now
        monkeypatch.setattr(Job, "fetch", real_fetch)
        raise NoSuchJobError(job_id)

    monkeypatch.setattr(Job, "fetch", fetch_after_the_end)
    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    assert Queue(queues.DEFAULT, connection=redis_client).job_ids == ["resolve-doubts"]


def test_a_job_that_ends_between_the_fetch_and_the_delete_is_enqueued_again(app, session, redis_client, monkeypatch):
    """The job found dead is gone by the delete (it finished, its record went): the job is enqueued, not crashed on."""
    from rq.job import Job

    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    Queue(queues.DEFAULT, connection=redis_client).remove("resolve-doubts")  # dequeued: not live
    found = Job.fetch("resolve-doubts", connection=redis_client)
    monkeypatch.setattr(queues, "_fetch", lambda job_id, connection: found)
    found.delete()  # the job ended and its record went (result_ttl 0) after the fetch
    queues.enqueue_unique(redis_client, jobs.resolve_doubts, "resolve-doubts")
    assert Queue(queues.DEFAULT, connection=redis_client).job_ids == ["resolve-doubts"]


def test_new_motions_ask_for_their_check_not_a_dispatch_while_preflight_is_on(app, client, auth, redis_client):
    """Pre-flight on: a new motion nudges the pre-flight job only (it dispatches what it passes); off: a dispatch."""
    queue = Queue(queues.DEFAULT, connection=redis_client)
    app.config["SETTINGS"] = app.config["SETTINGS"].with_overrides(preflight=True)
    assert client.post("/v1/motions", json=VALID, headers=auth).status_code == 202
    assert [job.func_name for job in queue.jobs] == [queues.path_of(jobs.preflight_motions)]
    queue.empty()
    app.config["SETTINGS"] = app.config["SETTINGS"].with_overrides(preflight=False)
    assert client.post("/v1/motions", json={**VALID, "name": "off"}, headers=auth).status_code == 202
    assert [job.func_name for job in queue.jobs] == [queues.path_of(jobs.dispatch_now)]


def test_a_checked_motion_back_in_the_queue_asks_for_a_dispatch(app, session, make_caller):
    """A motion that passed its check and comes back to queued (resubmission) needs no check: it asks for a dispatch."""
    caller = session.get(Caller, make_caller()[0])
    motion = create_motion(session, caller, dict(VALID))
    session.commit()
    motion.preflight_at = motion.created_at
    nudges.ask_dispatch(session, checked=motion.preflight_at is not None)
    assert nudges.asked(session) == {nudges.DISPATCH}
    session.rollback()
