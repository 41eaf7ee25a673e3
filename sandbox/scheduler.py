"""A timer heap on one thread that hands due jobs to a worker pool, so requests never wait."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)
Job = Callable[[], None]


class Scheduler:
    """Runs callables at chosen monotonic times; a slow webhook never delays other jobs."""

    def __init__(self, workers: int = 16) -> None:
        self._jobs: list[tuple[float, int, Job]] = []
        self._order = itertools.count()  # breaks ties so jobs themselves are never compared
        self._wakeup = threading.Condition()
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def call_later(self, delay: float, job: Job) -> None:
        """Run `job` on a worker after `delay` seconds."""
        with self._wakeup:
            if self._closed:
                return
            heapq.heappush(self._jobs, (time.monotonic() + delay, next(self._order), job))
            self._start_locked()
            self._wakeup.notify()

    def clear(self) -> None:
        """Drop every job not yet started."""
        with self._wakeup:
            self._jobs.clear()

    def close(self) -> None:
        """Stop for good: drop pending jobs and let running ones finish on their own."""
        with self._wakeup:
            self._closed = True
            self._jobs.clear()
            self._wakeup.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _start_locked(self) -> None:
        """Start the timer thread and the pool on first use (the app factory starts nothing)."""
        if self._thread is not None:
            return
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="sandbox-job")
        self._thread = threading.Thread(target=self._run, name="sandbox-timer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Wait for the next due job and hand it to the pool, until closed."""
        while (job := self._next_due()) is not None:
            assert self._pool is not None
            try:
                self._pool.submit(run_logged, job)
            except RuntimeError:  # the pool shut down between the pop and the submit
                return

    def _next_due(self) -> Job | None:
        """Block until a job is due; None once closed."""
        with self._wakeup:
            while not self._closed:
                if not self._jobs:
                    self._wakeup.wait()
                    continue
                wait = self._jobs[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._jobs)[2]
                self._wakeup.wait(wait)
        return None


def run_logged(job: Job) -> None:
    """Run a job; a failure is logged, never lost silently, and never kills a worker."""
    try:
        job()
    except Exception:
        log.exception("sandbox job failed")
