"""Recovery: Redis flushed mid-run, a worker killed mid-event, the receiver with Redis stopped."""

import json
import threading
import time

from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Response

from app import create_app, jobs, queues
from app.extensions import db
from app.models import EventState, JoggEvent, Motion, Status
from devstack.redis import EmbeddedRedis
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until
from tests.tracking.conftest import sign
from workers.worker import GatewayWorker


def count(session, *conditions) -> int:
    """How many motions match."""
    return session.scalar(select(func.count()).select_from(Motion).where(*conditions))


def webhook_for(jogg_id: str, event_id: str) -> bytes:
    """A generated_motion_success body for a JoggAI motion."""
    body = {"event_id": event_id, "event": "generated_motion_success", "timestamp": 1, "data": {"motion_id": jogg_id}}
    return json.dumps(body).encode()


def test_redis_flushed_mid_run_then_sweeps_finish_every_motion_once(
    make_motions, live_app, sandbox, session, processes, redis_client
):
    """50 motions; Redis loses everything halfway; the sweeps rebuild the work and nothing is submitted twice."""
    sandbox_config(sandbox, motion_seconds=1, rate_limit=100, rate_window_seconds=10)
    for prefix in ("x", "y"):
        make_motions(25, prefix=prefix)
    procs = processes(
        JOGG_POST_RATE_LIMIT="100 per 10 seconds", POLL_INTERVALS="3", SWEEP_INTERVAL="1", SWEEP_STALE_AFTER="2"
    )
    procs.start("worker")
    procs.start("worker")
    procs.start("clock")
    wait_until(lambda: count(session, Motion.status != Status.QUEUED) >= 15, timeout=30, interval=0.05)
    redis_client.flushdb()  # the run's own Redis database only: a shared server's others stay untouched
    wait_until(lambda: count(session, Motion.status == Status.COMPLETED) == 50, timeout=90, interval=0.5)
    per_name = sandbox_stats(sandbox)["add_motion_calls_by_name"]
    assert len(per_name) == 50 and set(per_name.values()) == {1}


def test_a_killed_workers_claim_runs_out_and_another_worker_finishes_the_event(
    make_motions, jogg_app, sandbox, session, processes, in_app, run_jobs
):
    """A worker SIGKILLed in an event's status check: its claim runs out, the sweep nudges, another worker ends it."""
    sandbox_config(sandbox, motion_seconds=0.2)
    _, (motion_id,) = make_motions(1)
    in_app(jobs.dispatch)
    run_jobs()
    jogg_id = session.get(Motion, motion_id, populate_existing=True).jogg_motion_id
    arrived = threading.Event()

    def never_in_time(_request):
        arrived.set()
        time.sleep(8)
        return Response("{}", content_type="application/json")

    with HTTPServer() as slow_jogg:  # a JoggAI that does not answer the status check in time
        slow_jogg.expect_request("/v2/photo_avatar").respond_with_handler(never_in_time)
        timeouts = {"JOGG_CONNECT_TIMEOUT": "1", "JOGG_READ_TIMEOUT": "2"}  # a lease of 1 + 2 x 3 + 2 = 9 s
        slow = processes(JOGG_BASE_URL=slow_jogg.url_for("").rstrip("/"), **timeouts)
        raw = webhook_for(jogg_id, "evt-killed")
        jogg_app.test_client().post("/webhooks/jogg", data=raw, headers={"X-Webhook-Signature": sign(raw)})
        worker = slow.start("worker")
        wait_until(arrived.is_set, timeout=20)  # the job is inside its status check
        slow.kill(worker)
    dead_claim = session.scalars(select(JoggEvent.claimed_by).execution_options(populate_existing=True)).one()
    assert dead_claim is not None
    healthy = processes(SWEEP_INTERVAL="1", SWEEP_STALE_AFTER="1")
    healthy.start("worker")
    healthy.start("clock")
    wait_until(lambda: session.get(Motion, motion_id, populate_existing=True).status == Status.COMPLETED, timeout=40)
    event = session.scalars(select(JoggEvent).execution_options(populate_existing=True)).one()
    assert event.state == EventState.APPLIED and event.claimed_by != dead_claim


def test_receiver_answers_with_redis_stopped_and_the_event_is_processed_later(
    make_motions, jogg_settings, sandbox, session, app
):
    """Redis down: the webhook is still stored and acknowledged; once Redis is back a sweep gets it processed."""
    sandbox_config(sandbox, motion_seconds=0.2)
    redis_server = EmbeddedRedis().start()
    port = redis_server.port
    private = create_app(jogg_settings.with_overrides(redis_url=redis_server.url, sweep_stale_after=0.01))

    def work() -> None:
        with private.app_context():
            connection = queues.connect(redis_server.url, socket_timeout=None)
            GatewayWorker(list(queues.ALL_QUEUES), connection=connection).work(burst=True)
            db.session.remove()

    _, (motion_id,) = make_motions(1)
    with private.app_context():
        jobs.dispatch()
        db.session.remove()
    work()
    jogg_id = session.get(Motion, motion_id, populate_existing=True).jogg_motion_id
    with private.app_context():  # JoggAI sends its webhook once the motion is done
        wait_until(lambda: private.extensions["jogg_client"].motion_status(jogg_id).status == "completed", timeout=10)
    redis_server.stop()
    raw = webhook_for(jogg_id, "evt-redis-down")
    resp = private.test_client().post("/webhooks/jogg", data=raw, headers={"X-Webhook-Signature": sign(raw)})
    assert resp.status_code == 200
    assert session.scalar(select(func.count()).select_from(JoggEvent)) == 1
    redis_server = EmbeddedRedis(port=port).start()
    try:
        time.sleep(0.05)
        with private.app_context():
            assert jobs.sweep() >= 1
            db.session.remove()
        work()
        assert session.get(Motion, motion_id, populate_existing=True).status == Status.COMPLETED
    finally:
        redis_server.stop()
