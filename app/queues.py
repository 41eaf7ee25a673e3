"""RQ queues and the job registry: queue names, the `@job` decorator, enqueueing jobs by reference."""

import functools
import socket
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Flask
from rq import Queue, Worker, get_current_job
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import WorkerStatus

from app import logs, metrics, redis_connection
from app.database import unit_of_work
from app.models.types import utcnow

DEFAULT = "default"
JOGG = "jogg"
CALLBACKS = "callbacks"
# A worker takes from the first non-empty queue in this order: JoggAI submissions (the POST budget waits
# for nobody), then callbacks (the last step of work already done), then everything else.
ALL_QUEUES = (JOGG, CALLBACKS, DEFAULT)

JOB_TIMEOUT = 120
FAILURE_TTL = 7 * 24 * 3600
NUDGE_HOLD_MS = 1000  # a lost nudge job blocks new nudges this long at most; the clock covers for it meanwhile
WORKER_TTL = 60  # seconds without a heartbeat after which a worker counts as dead
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass(frozen=True)
class JobSpec:
    """A registered job: the function RQ imports by its path, its queue and its timeout."""

    function: Callable
    queue: str
    timeout: int


REGISTRY: dict[str, JobSpec] = {}


def job(queue: str, timeout: int = JOB_TIMEOUT) -> Callable[[Callable], Callable]:
    """Register a job function on a queue; it runs with its ids on every log line, in one unit of work."""
    if queue not in ALL_QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(function: Callable) -> Callable:
        run = owns_transaction(function)
        REGISTRY[path_of(run)] = JobSpec(run, queue, timeout)
        return run

    return register


def owns_transaction(function: Callable) -> Callable:
    """Run a job or clock task with its ids on every log line, in one unit of work (commit, or roll back)."""

    @functools.wraps(function)
    def run(*args):
        token = _bind_log_ids(args)
        try:
            with unit_of_work():
                return function(*args)
        finally:
            logs.reset(token)

    return run


def path_of(function: Callable) -> str:
    """The dotted path RQ stores for a function (and imports it by in the worker)."""
    return f"{function.__module__}.{function.__qualname__}"


def spec_of(function: Callable) -> JobSpec:
    """The registration of a job function (a KeyError for a function that is not a registered job)."""
    return REGISTRY[path_of(function)]


def _bind_log_ids(args: tuple):
    """Put the job id, the request id that asked for the work, and the motion id on every log line."""
    current = get_current_job()
    meta = current.meta if current else {}
    first = args[0] if args else None
    return logs.bind(
        job_id=current and current.id,
        request_id=meta.get("request_id") or logs.new_request_id(),
        motion_id=first if isinstance(first, str) else None,
    )


def connect(url: str, **options) -> redis.Redis:
    """A Redis client that fails fast instead of hanging a request (a Sentinel URL follows the master)."""
    return redis_connection.connect(url, **options)


def init_app(app: Flask) -> None:
    """Give the app its Redis connection for enqueueing and health checks."""
    app.extensions["redis"] = connect(app.config["SETTINGS"].redis_url)


def _options(spec: JobSpec, job_id: str | None, args: tuple) -> dict:
    """RQ's options for one job of this spec (the request id follows the work)."""
    return dict(args=args, job_id=job_id, timeout=spec.timeout, failure_ttl=FAILURE_TTL, result_ttl=0,
                meta={"request_id": logs.current("request_id")})  # fmt: skip


def enqueue_unique(connection: redis.Redis, function: Callable, job_id: str, *args) -> None:
    """Enqueue a job under a deterministic id; a live job with that id is left alone, a dead one replaced."""
    spec = spec_of(function)
    queue = Queue(spec.queue, connection=connection)
    try:
        queue.enqueue_call(spec.function, unique=True, **_options(spec, job_id, args))
    except DuplicateJobError:
        existing = _fetch(job_id, connection)
        if existing is not None and is_live(existing, connection):
            return
        if existing is not None:
            _delete(existing)
        try:
            queue.enqueue_call(spec.function, unique=True, **_options(spec, job_id, args))
        except DuplicateJobError:
            pass  # someone enqueued it again in between: it is live now


def _delete(job: Job) -> None:
    """Delete a dead job's record; one that ended and went meanwhile (result_ttl 0) needs nothing more."""
    try:
        job.delete()
    except (InvalidJobOperation, NoSuchJobError):
        pass


def _fetch(job_id: str, connection: redis.Redis) -> Job | None:
    """The job under this id, or None when it ended and its record went since Redis said it was there."""
    try:
        return Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None


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


def enqueue_unique_many(connection: redis.Redis, function: Callable, jobs: list[tuple[str, tuple]]) -> None:
    """enqueue_unique for many (job id, args) pairs at once: a few round trips instead of several per job."""
    if not jobs:
        return
    spec = spec_of(function)
    queue = Queue(spec.queue, connection=connection)
    with connection.pipeline(transaction=False) as pipe:
        for job_id, _args in jobs:
            pipe.exists(Job.key_for(job_id))
        taken = pipe.execute()
    fresh = [job for job, exists in zip(jobs, taken, strict=True) if not exists]
    existing = [job for job, exists in zip(jobs, taken, strict=True) if exists]
    waiting = set(queue.get_job_ids()) if existing else set()
    for job_id, args in existing:
        if job_id not in waiting:  # not simply waiting in the queue: check whether it is alive
            enqueue_unique(connection, function, job_id, *args)
    if fresh:
        queue.enqueue_many([Queue.prepare_data(spec.function, **_options(spec, job, args)) for job, args in fresh])


def enqueue_many(connection: redis.Redis, function: Callable, calls: list[tuple]) -> None:
    """One job per args tuple, in one round trip, under fresh ids (for work that claims its rows in SQL itself)."""
    if not calls:
        return
    spec = spec_of(function)
    queue = Queue(spec.queue, connection=connection)
    queue.enqueue_many([Queue.prepare_data(spec.function, **_options(spec, None, args)) for args in calls])


# Mark ARGV[2..] as waiting for a job until now + ARGV[1] ms (Redis' clock); returns those not marked already.
MARK_WAITING = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local marked = {}
for i = 2, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
    marked[#marked + 1] = ARGV[i]
  end
end
return marked
"""


def waiting_key(name: str) -> str:
    """The Redis sorted set of ids that have a `name` job waiting, each scored with when its mark runs out."""
    return f"motion-gateway:waiting:{name}"


def mark_waiting(connection: redis.Redis, name: str, ids: list[str], hold_ms: int) -> list[str]:
    """Of `ids`, those with no `name` job waiting (no live mark), now marked for hold_ms: one round trip."""
    if not ids:
        return []
    marked = connection.register_script(MARK_WAITING)(keys=[waiting_key(name)], args=[hold_ms, *ids])
    return [m.decode() if isinstance(m, bytes) else m for m in marked]


def unmark_waiting(connection: redis.Redis, name: str, ids: list[str]) -> None:
    """Called by a job as it takes its work over: a later tick may enqueue these ids again."""
    if ids:
        connection.zrem(waiting_key(name), *ids)


def nudge_lock(name: str) -> str:
    """The Redis key that says a `name` job is already waiting."""
    return f"motion-gateway:nudge:{name}"


def nudge(connection: redis.Redis, name: str, function: Callable) -> None:
    """Enqueue the job unless a `name` nudge is already waiting (a burst of commits shares one job)."""
    nudge_many(connection, {name: function})


def nudge_many(connection: redis.Redis, functions: dict[str, Callable]) -> None:
    """`nudge` for several names: their holds are tried in one round trip, a job enqueued for each one taken."""
    with connection.pipeline(transaction=False) as pipe:
        for name in functions:
            pipe.set(nudge_lock(name), 1, nx=True, px=NUDGE_HOLD_MS)
        taken = pipe.execute()
    for function, took in zip(functions.values(), taken, strict=True):
        if took:
            spec = spec_of(function)
            Queue(spec.queue, connection=connection).enqueue_call(spec.function, **_options(spec, None, ()))


def clear_nudge(connection: redis.Redis, name: str) -> None:
    """Called by a nudged job as it starts: work committed from now on may nudge again."""
    connection.delete(nudge_lock(name))
