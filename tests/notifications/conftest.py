"""Fixtures for callback tests: an app with a short retry schedule, motions to move, receivers to call."""

import pytest

from app import create_app, jobs, queues
from app.domain.motions import create_motion
from app.domain.transitions import transition
from app.extensions import db
from app.models import Caller, Motion, Status
from workers.worker import GatewayWorker

FAST_SCHEDULE = (0, 1, 1, 1)  # four attempts, about a second apart


@pytest.fixture
def notify_app(app, settings):
    """The app with a scaled-down retry schedule and loopback callbacks allowed."""
    return create_app(
        settings.with_overrides(
            callback_retry_schedule=FAST_SCHEDULE, callback_allowed_networks=("127.0.0.0/8",), events_feed_lag=0.0
        )
    )


@pytest.fixture
def deliver_due(notify_app):
    """Enqueue every due delivery and run the jobs with a real RQ worker; returns how many were due."""

    def run() -> int:
        with notify_app.app_context():
            due = jobs.enqueue_due_deliveries()
            connection = queues.connect(notify_app.config["SETTINGS"].redis_url, socket_timeout=None)
            GatewayWorker([queues.CALLBACKS], connection=connection).work(burst=True)
            db.session.remove()
        return due

    return run


@pytest.fixture
def motion_with_callback(session, make_caller):
    """A queued motion whose callbacks go to the given URL; returns its id."""

    def make(url: str, caller_id: int | None = None) -> str:
        caller = session.get(Caller, caller_id or make_caller()[0])
        body = {"image_url": "https://i.example.com/a.png", "name": "n", "voice_id": "v", "model": "2.0"}
        motion = create_motion(session, caller, {**body, "callback_url": url})
        session.commit()
        return motion.id

    return make


@pytest.fixture
def move(session):
    """Move a motion through statuses as the workers would, creating its notification events."""

    def run(motion_id: str, *targets: Status) -> None:
        for target in targets:
            motion = session.get(Motion, motion_id, populate_existing=True)
            if target is Status.COMPLETED:
                motion.preview_url = "https://cdn.example.com/m.mp4"
            transition(session, motion, target, "worker")
            session.commit()

    return run
