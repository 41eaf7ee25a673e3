"""The clock: runs the periodic tasks on time, each under a Redis lock so several clocks never double up."""

import logging
import signal
import time

import redis
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.jobs import Periodic, schedule

log = logging.getLogger(__name__)
MIN_SLEEP = 0.002  # the loop's shortest nap: precise enough for a slot's instant, never a busy loop


class Clock:
    """A loop over the timetable that stops cleanly on SIGTERM or SIGINT."""

    def __init__(self, app: Flask):
        self.app = app
        self.tasks = schedule(app.config["SETTINGS"])
        self.stopping = False

    def run(self, max_seconds: float | None = None) -> None:
        """Run until stopped (or for max_seconds, in tests)."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        due = {task.name: 0.0 for task in self.tasks}
        ends = time.monotonic() + max_seconds if max_seconds else float("inf")
        while not self.stopping and time.monotonic() < ends:
            for task in self.tasks:
                if time.monotonic() >= due[task.name]:
                    due[task.name] = time.monotonic() + task.interval
                    self.run_task(task)
                    due[task.name] = min(due[task.name], time.monotonic() + self.sooner(task))
            time.sleep(max(MIN_SLEEP, min(due.values()) - time.monotonic()))

    def run_task(self, task: Periodic) -> None:
        """Run one task if no other clock is running it; failures are logged, never fatal."""
        connection: redis.Redis = self.app.extensions["redis"]
        with self.app.app_context():
            try:
                lock = connection.lock(f"motion-gateway:clock:{task.name}", timeout=max(30.0, task.interval * 2))
                if not lock.acquire(blocking=False):
                    return
                try:
                    task.function()  # each task owns its transaction
                finally:
                    lock.release()
            except (redis.RedisError, SQLAlchemyError) as exc:
                log.warning("clock task %s failed: %s", task.name, exc.__class__.__name__)
            except Exception:
                log.exception("clock task %s crashed", task.name)
            finally:
                db.session.remove()

    def sooner(self, task: Periodic) -> float:
        """Seconds until the task asks to run again, if that is before its interval (e.g. a POST slot freeing)."""
        if task.until_next is None:
            return task.interval
        with self.app.app_context():
            try:
                found = task.until_next()
            except redis.RedisError:
                found = None
            finally:
                db.session.remove()
        return task.interval if found is None else found

    def _stop(self, *_args) -> None:
        """Finish the current task, then leave."""
        self.stopping = True
