"""Fixtures for tests that talk to JoggAI: a sandbox over HTTP, an app pointed at it, real worker processes."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import psutil
import pytest

from app import create_app
from app.database import unit_of_work
from app.domain.motions import create_motion
from app.extensions import db
from app.models import Caller
from sandbox import serve_in_thread

SANDBOX_KEY = "sandbox-key"
MOTION = {"image_url": "https://img.example.com/a.png", "voice_id": "en-US-JennyNeural", "model": "2.0"}


@pytest.fixture
def sandbox():
    """A JoggAI sandbox served over HTTP in this process, stopped after the test."""
    running = serve_in_thread({"api_key": SANDBOX_KEY, "motion_seconds": 3600, "seed": 1})
    yield running
    running.stop()


def sandbox_config(sandbox, **knobs) -> None:
    """Change sandbox knobs through its control API, as a test or operator would."""
    import requests

    resp = requests.post(f"{sandbox.base_url}/_sandbox/config", json=knobs, timeout=5)
    assert resp.status_code == 200, resp.text


def sandbox_stats(sandbox) -> dict:
    """The sandbox's counters, read over HTTP."""
    import requests

    return requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()


@pytest.fixture
def jogg_settings(settings, sandbox):
    """Settings pointing at the sandbox, with fast retries and probes."""
    return settings.with_overrides(
        jogg_base_url=sandbox.base_url,
        jogg_api_key=SANDBOX_KEY,
        submit_retry_base=0.01,
        jogg_probe_interval=0.01,
        jogg_read_timeout=2.0,
    )


@pytest.fixture
def jogg_app(app, jogg_settings):
    """An app wired to the sandbox (sharing the test database and Redis)."""
    return create_app(jogg_settings)


@pytest.fixture
def make_motions(session, make_caller) -> Callable:
    """Queue motions for a caller straight through the domain; returns (caller_id, [motion ids])."""

    def make(count: int, caller_id: int | None = None, prefix: str | None = None, **fields):
        caller_id = caller_id or make_caller()[0]
        caller = session.get(Caller, caller_id)
        prefix = prefix or uuid.uuid4().hex[:6]
        ids = []
        for i in range(count):
            motion = create_motion(session, caller, {**MOTION, "name": f"{prefix}-{i}", **fields})
            ids.append(motion.id)
            session.commit()
        return caller_id, ids

    return make


@pytest.fixture
def in_app(jogg_app):
    """Run a function inside the sandbox-wired app's context, as one unit of work (committed, or rolled back)."""

    def run(function, *args):
        with jogg_app.app_context():
            try:
                with unit_of_work():
                    return function(*args)
            finally:
                db.session.remove()

    return run


class Processes:
    """Real `python -m workers ...` processes against the test database, Redis and sandbox."""

    def __init__(self, settings, extra_env: dict[str, str]):
        self.env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "JOGG_BASE_URL": settings.jogg_base_url,
            "JOGG_API_KEY": settings.jogg_api_key,
            "PREFLIGHT": "true" if settings.preflight else "false",  # as the test's settings say (tests/conftest.py)
            "PREFLIGHT_UNREACHABLE": settings.preflight_unreachable,
            "IMAGE_ALLOWED_NETWORKS": ",".join(settings.image_allowed_networks),
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.running: list[subprocess.Popen] = []
        self.log = open(os.environ.get("MG_TEST_PROCESS_LOG", os.devnull), "ab")  # noqa: SIM115

    def start(self, *args: str) -> subprocess.Popen:
        """Start one process in its own process group (so a kill takes its work horse too)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers", *args], env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        self.running.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL a process and all its descendants (RQ work horses start their own session)."""
        family = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGKILL)
        for child in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every process still running."""
        for proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def processes(jogg_settings):
    """Start worker and clock processes; all are stopped after the test."""
    started: list[Processes] = []

    def make(**extra_env: str) -> Processes:
        procs = Processes(jogg_settings, extra_env)
        started.append(procs)
        return procs

    yield make
    for procs in started:
        procs.stop_all()


def wait_until(check: Callable, timeout: float = 30.0, interval: float = 0.1):
    """Poll until check() is truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def work_off(app) -> None:
    """Run every queued job with a real RQ worker (in-process) inside this app, until the queues are empty."""
    from app import queues
    from workers.worker import GatewayWorker

    connection = queues.connect(app.config["SETTINGS"].redis_url, socket_timeout=None)
    with app.app_context():
        GatewayWorker(list(queues.ALL_QUEUES), connection=connection).work(burst=True)


@pytest.fixture
def run_jogg_jobs(jogg_app):
    """Run every queued job inside the sandbox-wired app."""
    return lambda: work_off(jogg_app)
