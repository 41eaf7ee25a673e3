"""Entry point for background processes: `python -m workers worker` or `python -m workers clock`."""

import argparse
import logging
import os
import time

import redis

from app import create_app, jobs, queues
from app.logs import configure_logging
from workers.clock import Clock
from workers.worker import GatewayWorker

log = logging.getLogger("workers")


def wait_for_redis(connection: redis.Redis, seconds: float = 60.0) -> None:
    """Wait for Redis at start-up, so a worker started beside its Redis does not exit at once."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            connection.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_worker(app, burst: bool, queue_names: list[str]) -> None:
    """Serve jobs from the queues inside this process, with one app built at start-up."""
    connection = queues.connect(app.config["SETTINGS"].redis_url, socket_timeout=None)
    wait_for_redis(connection)
    with app.app_context():
        if queues.DEFAULT in queue_names:
            jobs.warm_up()  # the pre-flight job runs on this queue: its first check should need only the image
        worker = GatewayWorker(queue_names, connection=connection)
        worker.work(burst=burst, logging_level=app.config["SETTINGS"].log_level)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the chosen process."""
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("process", choices=["worker", "clock"])
    parser.add_argument("--burst", action="store_true", help="worker: stop when the queues are empty")
    parser.add_argument("--queues", default=",".join(queues.ALL_QUEUES), help="worker: comma-separated queue names")
    args = parser.parse_args(argv)
    app = create_app()
    configure_logging(app.config["SETTINGS"])
    if args.process == "worker":
        os.nice(app.config["SETTINGS"].worker_niceness)  # WORKER_NICENESS: 0 by default, a shared host may want 5
        run_worker(app, args.burst, args.queues.split(","))
    else:
        Clock(app).run()


if __name__ == "__main__":
    main()
