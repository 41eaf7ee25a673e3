"""The RQ worker: runs each job in its own process (no fork per job) and leaves no session behind."""

from rq import SimpleWorker

from app.extensions import db


class GatewayWorker(SimpleWorker):
    """A SimpleWorker that drops the job's database session, whatever the job left in it.

    Forking per job costs a process copy and a fresh database connection for every job; our jobs are
    short, take ids and keep no state, so they run in the worker itself and share its connection pool.
    RQ's job timeout still applies (SIGALRM in the worker), and a killed worker loses only the job it held,
    which the sweep and `is_live` recover from SQL.
    """

    def perform_job(self, job, queue, execution) -> bool:
        """Run one job, then return its connection to the pool."""
        try:
            return super().perform_job(job, queue, execution)
        finally:
            db.session.remove()
