"""A job Redis still calls "started" although its worker moved on (a failover lost the job's end) is not live:
its worker is idle, or busy with another job (the execution lingers on the new master until it expires).
"""

from rq import Queue, Worker
from rq.worker import WorkerStatus

from app import jobs, queues


def started_by(worker: Worker, queue: Queue, job_id: str):
    """Enqueue a job and take it the way a worker does: an execution for it, then the job marked started."""
    job = queue.enqueue_call(jobs.dispatch_now, job_id=job_id)
    queue.remove(job.id)
    execution = worker.prepare_execution(job)
    with queue.connection.pipeline() as pipe:
        job.prepare_for_execution(worker.name, pipeline=pipe)
        pipe.execute()
    return job, execution


def test_running_job_is_live_until_its_worker_moves_on(redis_client):
    """Live while the worker's executions hold it; not live once they no longer do, though the job says started."""
    queue = Queue(queues.DEFAULT, connection=redis_client)
    worker = Worker([queue], connection=redis_client, name="sentinel-test-worker")
    worker.register_birth()
    job, execution = started_by(worker, queue, "forgotten-end")
    assert job.get_status(refresh=True) == "started"
    assert queues.is_live(job, redis_client)

    worker.set_state(WorkerStatus.IDLE)  # the worker finished it; the new master kept the execution
    assert job.get_status(refresh=True) == "started"
    assert not queues.is_live(job, redis_client)

    worker.set_state(WorkerStatus.BUSY)  # busy with another job: its executions no longer hold this one
    assert queues.is_live(job, redis_client)
    with redis_client.pipeline() as pipe:
        execution.delete(job, pipeline=pipe)
        pipe.execute()
    worker.execution = None
    assert not queues.is_live(job, redis_client)
    queues.enqueue_unique(redis_client, jobs.dispatch_now, "forgotten-end")
    assert queue.job_ids == ["forgotten-end"]  # replaced, so the work is not stuck behind a ghost
    worker.register_death()
