"""RQ queues, and enqueueing outbox work only after the transaction that recorded it commits."""

import logging
import socket
from collections import defaultdict

import redis
from flask import Flask, current_app, has_app_context
from rq import Queue, Worker
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.worker import WorkerStatus
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import logs, metrics, redis_connection
from app.domain import outbox
from app.models import Delivery, OutboxEntry
from app.models.types import utcnow

log = logging.getLogger(__name__)

DEFAULT = "default"
JOGG = "jogg"
CALLBACKS = "callbacks"
# A worker takes from the first non-empty queue in this order: JoggAI submissions (the POST budget waits
# for nobody), then callbacks (the last step of work already done), then everything else.
ALL_QUEUES = (JOGG, CALLBACKS, DEFAULT)

QUEUE_FOR_KIND = {"dispatch": DEFAULT, "jogg_event": DEFAULT}
JOB_TIMEOUT = 120
FAILURE_TTL = 7 * 24 * 3600
PENDING_KEY = "outbox_pending"
OUTBOX_JOB = "workers.jobs.run_outbox_entry"
SUBMIT_JOB = "workers.jobs.submit_motion"
POLL_JOB = "workers.jobs.poll_motion"
DELIVER_JOB = "workers.jobs.deliver"
DISPATCH_JOB = "workers.jobs.dispatch_now"
EVENTS_JOB = "workers.jobs.process_jogg_events"
NUDGE_JOBS = {outbox.NUDGE_DISPATCH: DISPATCH_JOB, outbox.NUDGE_EVENTS: EVENTS_JOB}
NUDGE_HOLD_MS = 1000  # a lost nudge job blocks new nudges this long at most; the clock covers for it meanwhile
DELIVERY = "delivery"
WORKER_TTL = 60  # seconds without a heartbeat after which a worker counts as dead
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def connect(url: str, **options) -> redis.Redis:
    """A Redis client that fails fast instead of hanging a request (a Sentinel URL follows the master)."""
    return redis_connection.connect(url, **options)


def init_app(app: Flask) -> None:
    """Give the app its Redis connection for enqueueing and health checks."""
    app.extensions["redis"] = connect(app.config["SETTINGS"].redis_url)


def enqueue_unique(connection: redis.Redis, queue_name: str, function: str, job_id: str, *args) -> None:
    """Enqueue a job under a deterministic id; a live job with that id is left alone, a dead one replaced."""
    queue = Queue(queue_name, connection=connection)
    options = dict(args=args, job_id=job_id, timeout=JOB_TIMEOUT, failure_ttl=FAILURE_TTL, result_ttl=0)
    options["meta"] = {"request_id": logs.current("request_id")}  # the request id follows the work
    try:
        queue.enqueue_call(function, unique=True, **options)
    except DuplicateJobError:
        job = Job.fetch(job_id, connection=connection)
        if is_live(job, connection):
            return
        job.delete()
        try:
            queue.enqueue_call(function, unique=True, **options)
        except DuplicateJobError:
            pass  # someone enqueued it again in between: it is live now


def is_live(job: Job, connection: redis.Redis) -> bool:
    """Whether a job is waiting or really running (a started job whose worker died is not)."""
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        # A worker killed after dequeuing leaves the job "queued" but in no queue: that one is lost.
        return job.get_position() is not None
    if status != JobStatus.STARTED:
        return status in LIVE_STATUSES
    key = Worker.redis_worker_namespace_prefix + (job.worker_name or "")
    worker = job.worker_name and Worker.find_by_key(key, connection=connection)
    if not worker:
        return False
    if worker.hostname == socket.gethostname() and worker.pid and not metrics.process_alive(worker.pid):
        return False
    if worker.last_heartbeat is not None and (utcnow() - worker.last_heartbeat).total_seconds() >= WORKER_TTL:
        return False
    # A live worker that is idle or busy with other work is not running it: Redis forgot the job's end (a
    # failover lost the worker's last writes), so the job still says started and its execution lingers.
    if worker.get_state() != WorkerStatus.BUSY:
        return False
    return any(execution.job_id == job.id for execution in worker.get_current_executions(refresh=True))


def enqueue_entries(connection: redis.Redis, entries: list[tuple[int, str]]) -> None:
    """Put outbox entries' jobs, given as (id, kind), on their queues."""
    by_queue: dict[str, list[tuple[str, tuple]]] = defaultdict(list)
    for entry_id, kind in entries:
        by_queue[QUEUE_FOR_KIND.get(kind, DEFAULT)].append((f"outbox-{entry_id}", (entry_id,)))
    for queue_name, jobs in by_queue.items():
        enqueue_unique_many(connection, queue_name, OUTBOX_JOB, jobs)


def enqueue_unique_many(connection: redis.Redis, queue_name: str, function: str, jobs: list[tuple[str, tuple]]) -> None:
    """enqueue_unique for many (job id, args) pairs at once: a few round trips instead of several per job."""
    if not jobs:
        return
    queue = Queue(queue_name, connection=connection)
    with connection.pipeline(transaction=False) as pipe:
        for job_id, _args in jobs:
            pipe.exists(Job.key_for(job_id))
        taken = pipe.execute()
    fresh = [job for job, exists in zip(jobs, taken, strict=True) if not exists]
    existing = [job for job, exists in zip(jobs, taken, strict=True) if exists]
    waiting = set(queue.get_job_ids()) if existing else set()
    for job_id, args in existing:
        if job_id not in waiting:  # not simply waiting in the queue: check whether it is alive
            enqueue_unique(connection, queue_name, function, job_id, *args)
    if not fresh:
        return
    meta = {"request_id": logs.current("request_id")}
    queue.enqueue_many([
        Queue.prepare_data(function, args=args, job_id=job_id, timeout=JOB_TIMEOUT, failure_ttl=FAILURE_TTL,
                           result_ttl=0, meta=meta)
        for job_id, args in fresh
    ])  # fmt: skip


def enqueue_submissions(connection: redis.Redis, motion_ids: list[str]) -> None:
    """One submit job per dispatched motion, on the JoggAI queue."""
    enqueue_unique_many(connection, JOGG, SUBMIT_JOB, [(f"submit-{m}", (m,)) for m in motion_ids])


def enqueue_polls(connection: redis.Redis, motion_ids: list[str]) -> None:
    """One status-check job per due motion; a poll already waiting is not doubled."""
    enqueue_unique_many(connection, DEFAULT, POLL_JOB, [(f"poll-{m}", (m,)) for m in motion_ids])


def enqueue_after_commit(entries: list[tuple[int, str]]) -> None:
    """Enqueue committed outbox entries; a Redis failure is logged and left to the sweep."""
    if not entries or not has_app_context():
        return
    connection = current_app.extensions["redis"]
    try:
        enqueue_deliveries(connection, [entry_id for entry_id, kind in entries if kind == DELIVERY])
        enqueue_entries(connection, [(entry_id, kind) for entry_id, kind in entries if kind != DELIVERY])
    except redis.RedisError as exc:
        log.warning("enqueue failed, the sweep will pick the work up: %s", exc.__class__.__name__)


def enqueue_deliveries(connection: redis.Redis, delivery_ids: list[int]) -> None:
    """One callback job per due delivery, on the callbacks queue."""
    enqueue_unique_many(connection, CALLBACKS, DELIVER_JOB, [(f"deliver-{d}", (d,)) for d in delivery_ids])


def enqueue_deliveries_on_commit(session: Session, delivery_ids: list[int]) -> None:
    """Enqueue these existing deliveries once the session's transaction commits."""
    session.info.setdefault(PENDING_KEY, []).extend((delivery_id, DELIVERY) for delivery_id in delivery_ids)


@event.listens_for(Session, "after_flush")
def _collect_new_entries(session: Session, _flush_context) -> None:
    """Remember outbox rows and deliveries inserted in this transaction."""
    pending = session.info.setdefault(PENDING_KEY, [])
    for obj in session.new:
        if isinstance(obj, OutboxEntry):
            pending.append((obj.id, obj.kind))
        elif isinstance(obj, Delivery):
            pending.append((obj.id, DELIVERY))


def nudge_lock(name: str) -> str:
    """The Redis key that says a `name` job is already waiting."""
    return f"motion-gateway:nudge:{name}"


def nudge(connection: redis.Redis, name: str) -> None:
    """Enqueue the `name` job unless one is already waiting (a burst of commits shares one job)."""
    if connection.set(nudge_lock(name), 1, nx=True, px=NUDGE_HOLD_MS):
        Queue(DEFAULT, connection=connection).enqueue_call(
            NUDGE_JOBS[name], timeout=JOB_TIMEOUT, result_ttl=0, failure_ttl=FAILURE_TTL,
            meta={"request_id": logs.current("request_id")},
        )  # fmt: skip


def clear_nudge(connection: redis.Redis, name: str) -> None:
    """Called by a nudged job as it starts: work committed from now on may nudge again."""
    connection.delete(nudge_lock(name))


def nudge_after_commit(names: set[str]) -> None:
    """Send the nudges a committed transaction asked for; a Redis failure only delays the work."""
    if not names or not has_app_context():
        return
    try:
        for name in sorted(names):
            nudge(current_app.extensions["redis"], name)
    except redis.RedisError as exc:
        log.warning("nudge failed, the clock will find the work: %s", exc.__class__.__name__)


@event.listens_for(Session, "after_commit")
def _enqueue_collected(session: Session) -> None:
    """Hand the remembered rows to RQ now that they are committed."""
    enqueue_after_commit(session.info.pop(PENDING_KEY, []))
    nudge_after_commit(session.info.pop(outbox.NUDGES_KEY, set()))


@event.listens_for(Session, "after_rollback")
def _forget_collected(session: Session) -> None:
    """Rolled-back rows are not work."""
    session.info.pop(PENDING_KEY, None)
    session.info.pop(outbox.NUDGES_KEY, None)
