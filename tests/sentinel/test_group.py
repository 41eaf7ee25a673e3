"""The service on a real Sentinel group: the app, readyz, the POST budget, workers and clock, and a forced failover."""

import dataclasses
import signal
import time

import pytest
from rq import Queue
from sqlalchemy import func, select

from app import create_app, queues
from app.models import Motion, Status
from tests.jogg_fixtures import MOTION, Processes, sandbox_config, sandbox_stats, wait_until
from workers.clock import Clock


def master_queue_ids(group, name: str) -> list[str]:
    """Job ids waiting in an RQ queue, read from the master the sentinels name (not through the app)."""
    return Queue(name, connection=group.client(group.master_port())).get_job_ids()


def test_app_enqueues_on_the_master_and_is_ready(sentinel_app, sentinel_group, make_caller):
    """A POST /v1/motions through the Sentinel URL enqueues its work on the current master; readyz says ok."""
    _, key = make_caller()
    client = sentinel_app.test_client()
    resp = client.post(
        "/v1/motions", json={**MOTION, "name": "via-sentinel"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status_code == 202, resp.get_json()
    assert any(master_queue_ids(sentinel_group, name) for name in queues.ALL_QUEUES)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_budget_counts_on_the_master_in_the_urls_database(sentinel_settings, sentinel_group):
    """The POST budget keeps its window on the master, in the database the URL names, shared by two processes' views."""
    app = create_app(sentinel_settings.with_overrides(jogg_post_rate_limit="3 per 10 seconds"))
    other = create_app(sentinel_settings.with_overrides(jogg_post_rate_limit="3 per 10 seconds"))
    budget, other_budget = app.extensions["post_budget"], other.extensions["post_budget"]
    budget.reset()
    assert [budget.try_acquire(), other_budget.try_acquire(), budget.try_acquire()] == [True, True, True]
    assert other_budget.try_acquire() is False and budget.free_slots() == 0
    keys = sentinel_group.client(sentinel_group.master_port()).keys("LIMITS:*")
    assert keys, "the budget's window is not on the master"
    budget.reset()


def test_readyz_is_503_when_no_sentinel_answers(sentinel_settings, sentinel_group):
    """Sentinels that do not answer make readyz 503 naming Redis (MasterNotFoundError), never a 5xx crash."""
    dead = ",".join(f"127.0.0.1:{port + 1}" for port in sentinel_group.sentinel_ports[:1])
    app = create_app(sentinel_settings.with_overrides(redis_url=f"redis+sentinel://{dead}/{sentinel_group.service}"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["redis"].startswith("error")


def test_clock_takes_its_locks_on_the_master(sentinel_app, sentinel_group):
    """The clock runs its periodic tasks under locks taken through the Sentinel URL."""
    clock = Clock(sentinel_app)
    master = sentinel_group.client(sentinel_group.master_port())
    seen: set[str] = set()

    def spy(task):
        seen.update(key.decode() for key in master.keys("motion-gateway:clock:*"))

    # each task looks for the lock while it runs
    clock.tasks = [dataclasses.replace(task, function=lambda task=task: spy(task)) for task in clock.tasks]
    clock.run(max_seconds=1.5)
    assert {f"motion-gateway:clock:{task.name}" for task in clock.tasks} <= seen


def test_a_forced_failover_is_followed(sentinel_app, sentinel_group, make_caller):
    """After SENTINEL FAILOVER the same app writes to the new master and readyz recovers, without a restart."""
    _, key = make_caller()
    client, headers = sentinel_app.test_client(), {"Authorization": f"Bearer {key}"}
    budget = sentinel_app.extensions["post_budget"]
    connection = sentinel_app.extensions["redis"]
    assert client.get("/readyz").status_code == 200 and budget.try_acquire()
    old = sentinel_group.master_port()

    new = sentinel_group.failover()
    assert new != old
    wait_until(
        lambda: connection.ping() and connection.connection_pool.master_address == ("127.0.0.1", new), timeout=10
    )
    assert client.get("/readyz").status_code == 200
    resp = client.post("/v1/motions", json={**MOTION, "name": "after-failover"}, headers=headers)
    assert resp.status_code == 202
    new_master = sentinel_group.client(new)
    assert new_master.info("replication")["role"] == "master"
    assert any(Queue(name, connection=new_master).get_job_ids() for name in queues.ALL_QUEUES)
    assert budget.try_acquire() and new_master.keys("LIMITS:*")

    sentinel_group.wait_settled()  # the old master is demoted: its clients were cut, the app still answers
    assert sentinel_group.client(old).info("replication")["role"] == "slave"
    assert client.get("/readyz").status_code == 200
    connection.set("motion-gateway:test:after-demotion", 1, ex=60)
    assert new_master.get("motion-gateway:test:after-demotion") == b"1"


@pytest.fixture
def sentinel_processes(jogg_settings, sentinel_group):
    """Worker and clock processes whose REDIS_URL is the Sentinel group's; all stopped after the test."""
    procs = Processes(
        jogg_settings.with_overrides(redis_url=sentinel_group.url),
        # the sweep returns dispatches whose submit job the failover lost after 3 s instead of 30
        {"JOGG_POST_RATE_LIMIT": f"{WINDOW_POSTS} per {WINDOW_SECONDS} seconds", "SWEEP_INTERVAL": "1",
         "SWEEP_STALE_AFTER": "3"},
    )  # fmt: skip
    yield procs
    procs.stop_all()
    sentinel_group.client(sentinel_group.master_port()).flushdb()


WINDOW_POSTS, WINDOW_SECONDS = 10, 2


def submitted(session) -> int:
    """Motions JoggAI has accepted so far."""
    return session.scalar(select(func.count()).where(Motion.status == Status.PROCESSING))


def test_worker_and_clock_processes_submit_through_a_failover(
    make_motions, sandbox, session, sentinel_processes, sentinel_group
):
    """Two workers and the clock on the Sentinel URL submit 30 motions, each once, across a forced failover.

    The budget binds (10 POSTs per 2 s, as JoggAI's sandbox allows): hits the old master took in its last
    moments may be lost, so at most one window's worth of 429s is allowed.
    """
    sandbox_config(sandbox, rate_limit=WINDOW_POSTS, rate_window_seconds=WINDOW_SECONDS)
    assert sentinel_processes.env["REDIS_URL"].startswith("redis+sentinel://")
    _, ids = make_motions(30, prefix="sentinel")
    for _ in range(2):
        sentinel_processes.start("worker")
    sentinel_processes.start("clock")
    wait_until(lambda: submitted(session) >= 5, timeout=60, interval=0.2)
    failed_over_at = time.time()
    sentinel_group.failover()
    wait_until(lambda: submitted(session) == 30, timeout=120, interval=0.5)

    stats = sandbox_stats(sandbox)
    assert stats["motions_created_by_name"] == {f"sentinel-{i}": 1 for i in range(30)}
    assert stats["responses_429"] <= WINDOW_POSTS
    after = [m.submitted_at.timestamp() for m in session.scalars(select(Motion).where(Motion.id.in_(ids)))]
    assert any(t > failed_over_at for t in after), "nothing was submitted after the failover"
    assert all(p.poll() is None for p in sentinel_processes.running), "a process died in the failover"
    sentinel_group.wait_settled()


def test_a_read_cut_short_does_not_leave_its_reply_for_the_next_command(sentinel_app):
    """A signal (RQ's job timeout, SIGTERM) cutting a blocking read short closes the connection: replies never shift."""
    connection = sentinel_app.extensions["redis"]

    class Interrupted(Exception):
        pass

    def interrupt(*_args):
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            connection.blpop(["motion-gateway:test:empty"], timeout=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert connection.set("motion-gateway:test:shift", "value", ex=60) is True
    assert connection.get("motion-gateway:test:shift") == b"value"
