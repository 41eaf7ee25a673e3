"""The RQ worker: runs each job in its own process (no fork per job) and leaves no session behind."""

import logging

from rq import SimpleWorker
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.redis_connection import follows_sentinel

log = logging.getLogger(__name__)
SENTINEL_DEQUEUE_TIMEOUT = 1


class GatewayWorker(SimpleWorker):
    """A SimpleWorker that drops the job's database session, whatever the job left in it.

    Forking per job costs a process copy and a fresh database connection for every job; our jobs are
    short, take ids and keep no state, so they run in the worker itself and share its connection pool.
    RQ's job timeout still applies (SIGALRM in the worker), and a killed worker loses only the job it held,
    which the sweep and `is_live` recover from SQL.
    """

    @property
    def dequeue_timeout(self) -> int:
        """Seconds an idle worker blocks on one connection: 1 under Sentinel, so it leaves a former master at once."""
        sentinel = follows_sentinel(getattr(self, "connection", None))  # not set yet while RQ sets up the worker
        return SENTINEL_DEQUEUE_TIMEOUT if sentinel else super().dequeue_timeout

    def perform_job(self, job, queue, execution) -> bool:
        """Run one job, then return its connection to the pool."""
        try:
            return super().perform_job(job, queue, execution)
        finally:
            release_session()


def release_session() -> None:
    """End the job's session; a connection the database dropped is discarded, never the worker with it."""
    try:
        db.session.remove()
    except SQLAlchemyError as exc:
        db.session.registry.clear()
        log.warning("discarded a broken database connection after a job: %s", exc.__class__.__name__)
