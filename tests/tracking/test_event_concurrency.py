"""Webhook events under concurrency, with real worker processes: duplicates at once, two jobs on one backlog."""

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from rq import Queue, Worker
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from app import create_app, jobs, queues
from app.models import EventState, JoggEvent, Motion, Status
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until, work_off
from tests.tracking.conftest import sign

DUPLICATES = 32
ROUNDS = 4  # events, each delivered DUPLICATES times at once: the race the duplicates lost was not every time
EVENTS = 200


def success_event(jogg_id: str, event_id: str) -> bytes:
    """A generated_motion_success body for a JoggAI motion."""
    body = {"event_id": event_id, "event": "generated_motion_success", "timestamp": 1, "data": {"motion_id": jogg_id}}
    return json.dumps(body).encode()


def processing_motions(make_motions, jogg_app, sandbox, session, count: int) -> list[Motion]:
    """`count` motions submitted to the sandbox and finished there, with no status check asked yet."""
    sandbox_config(sandbox, motion_seconds=0.1, rate_limit=count + 10, webhook_url="")  # webhooks: the test's own
    fast = create_app(jogg_app.config["SETTINGS"].with_overrides(jogg_post_rate_limit=f"{count + 10}/minute"))
    _, ids = make_motions(count)
    with fast.app_context():
        jobs.dispatch()
    work_off(fast)
    motions = [session.get(Motion, motion_id, populate_existing=True) for motion_id in ids]
    assert {motion.status for motion in motions} == {Status.PROCESSING}
    finished = {m.jogg_motion_id for m in motions}
    wait_until(lambda: finished <= sandbox_phases(sandbox, "completed", "failed"), timeout=20)
    return motions


def sandbox_phases(sandbox, *phases: str) -> set[str]:
    """The sandbox's motion ids in one of these phases (read from its stats: no status check is counted)."""
    return {motion_id for motion_id, line in sandbox_stats(sandbox)["motions"].items() if line["status"] in phases}


def status_checks(sandbox) -> dict[str, int]:
    """Status checks the sandbox has answered, per JoggAI motion id."""
    return {motion_id: line["status_checks"] for motion_id, line in sandbox_stats(sandbox)["motions"].items()}


def workers_ready(redis_client, count: int) -> None:
    """Wait until `count` worker processes are registered and listening."""
    wait_until(lambda: len(Worker.all(connection=redis_client)) >= count, timeout=30)


def settled(redis_client) -> bool:
    """No job waiting on the default queue and none running."""
    registry = StartedJobRegistry(queues.DEFAULT, connection=redis_client)
    return Queue(queues.DEFAULT, connection=redis_client).count == 0 and registry.count == 0


def test_concurrent_duplicates_of_one_event_are_applied_with_one_status_check(
    make_motions, jogg_app, live_app, sandbox, session, processes, redis_client
):
    """32 deliveries of one signed event at once (four events in turn), two workers, no sweep: each applied once."""
    motions = processing_motions(make_motions, jogg_app, sandbox, session, ROUNDS)
    checks_before = status_checks(sandbox)
    procs = processes()
    procs.start("worker")
    procs.start("worker")
    workers_ready(redis_client, 2)
    for motion in motions:
        answered, took = deliver_at_once(live_app, success_event(motion.jogg_motion_id, f"evt-{motion.id}"))
        completed = lambda m=motion: session.get(Motion, m.id, populate_existing=True).status == Status.COMPLETED  # noqa: E731
        wait_until(completed, timeout=20, interval=0.01)
        print(f"\n{DUPLICATES} concurrent duplicates: answered in {answered:.3f} s, applied after {took():.3f} s")
    wait_until(lambda: settled(redis_client), timeout=20)
    events = session.scalars(select(JoggEvent).execution_options(populate_existing=True)).all()
    assert {(e.state, e.duplicates, e.attempts) for e in events} == {(EventState.APPLIED, DUPLICATES - 1, 1)}
    checks = status_checks(sandbox)
    assert {checks[m.jogg_motion_id] - checks_before[m.jogg_motion_id] for m in motions} == {1}


def deliver_at_once(base_url: str, raw: bytes) -> tuple[float, Callable[[], float]]:
    """POST one signed body DUPLICATES times at once; the seconds until all were answered, and a clock since."""
    headers = {"X-Webhook-Signature": sign(raw), "Content-Type": "application/json"}
    start = threading.Barrier(DUPLICATES)

    def deliver(_: int) -> int:
        """One delivery, sent together with the others."""
        start.wait()
        return requests.post(f"{base_url}/webhooks/jogg", data=raw, headers=headers, timeout=30).status_code

    sent = time.monotonic()
    with ThreadPoolExecutor(DUPLICATES) as pool:
        assert set(pool.map(deliver, range(DUPLICATES))) == {200}
    return time.monotonic() - sent, lambda: time.monotonic() - sent


def test_two_event_jobs_over_200_events_check_each_motion_once(
    make_motions, jogg_app, sandbox, session, processes, redis_client
):
    """200 stored events, two processing jobs on two worker processes at once: each event gets one status check."""
    motions = processing_motions(make_motions, jogg_app, sandbox, session, EVENTS)
    checks_before = status_checks(sandbox)
    client = jogg_app.test_client()
    for i, motion in enumerate(motions):
        raw = success_event(motion.jogg_motion_id, f"evt-{i}")
        assert client.post("/webhooks/jogg", data=raw, headers={"X-Webhook-Signature": sign(raw)}).status_code == 200
    Queue(queues.DEFAULT, connection=redis_client).enqueue_call(jobs.process_jogg_events, timeout=queues.JOB_TIMEOUT)
    assert Queue(queues.DEFAULT, connection=redis_client).count >= 2  # the nudged job(s) and a second one
    procs = processes()
    procs.start("worker")
    procs.start("worker")
    received = select(func.count()).select_from(JoggEvent).where(JoggEvent.state == EventState.RECEIVED)
    wait_until(lambda: session.scalar(received) == 0, timeout=60)
    wait_until(lambda: settled(redis_client), timeout=20)
    states = session.execute(select(JoggEvent.state, func.count()).group_by(JoggEvent.state)).all()
    assert dict(states) == {EventState.APPLIED: EVENTS}
    checks = status_checks(sandbox)
    extra = {m.jogg_motion_id: checks[m.jogg_motion_id] - checks_before[m.jogg_motion_id] for m in motions}
    assert set(extra.values()) == {1}, {motion_id: n for motion_id, n in extra.items() if n != 1}
