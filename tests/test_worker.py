"""The worker process: jobs run in it, and a database connection lost between jobs does not stop it."""

from rq import Queue
from sqlalchemy.exc import OperationalError

from app import jobs, queues
from app.extensions import db
from workers.worker import GatewayWorker


def test_a_connection_lost_while_ending_a_job_does_not_stop_the_worker(app, redis_client, monkeypatch):
    """The session's rollback fails (the database went away): the worker logs it and runs the next job."""
    queue = Queue(queues.DEFAULT, connection=redis_client)
    for _ in range(2):
        queue.enqueue_call(jobs.enqueue_due_deliveries, result_ttl=0)
    calls = []
    real_remove = db.session.remove

    def failing_remove():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))
        real_remove()

    with app.app_context():
        monkeypatch.setattr(db.session, "remove", failing_remove)
        GatewayWorker([queue], connection=redis_client).work(burst=True)
    assert len(calls) >= 2  # after each of the two jobs (and Flask's own teardown)
    assert queue.count == 0 and queue.failed_job_registry.count == 0
