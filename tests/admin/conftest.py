"""Fixtures for the admin commands: a way to run them, and motions built in any status at any age."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.domain.motions import create_motion
from app.domain.transitions import transition
from app.models import Caller, Motion, MotionEvent, Status
from app.models.types import utcnow

MOTION = {"image_url": "https://img.example.com/a.png", "name": "n", "voice_id": "en-US-JennyNeural", "model": "2.0"}
# The legal road to each status, from queued.
ROADS = {
    Status.QUEUED: (),
    Status.PROCESSING: (Status.PROCESSING,),
    Status.COMPLETED: (Status.PROCESSING, Status.COMPLETED),
    Status.FAILED: (Status.PROCESSING, Status.FAILED),
    Status.CANCELLED: (Status.CANCELLED,),
}


@pytest.fixture
def cli(app):
    """Invoke `flask ...` on the app (the factory registers the operator commands) and return the result."""

    def run(*args: str):
        return app.test_cli_runner().invoke(args=list(args))

    return run


@pytest.fixture
def motion_in(session, make_caller):
    """Build a committed motion in a status through real transitions, optionally last changed `age` ago."""
    caller_id = make_caller(callback_url="http://orders-svc:8080/hooks")[0]

    def make(status: Status, age: timedelta | None = None, **fields) -> Motion:
        motion = create_motion(session, session.get(Caller, caller_id), {**MOTION, **fields})
        for step in ROADS[status]:
            if step is Status.PROCESSING:
                motion.jogg_motion_id = f"jm-{motion.id}"
            transition(session, motion, step, "worker")
        session.commit()
        if age is not None:
            backdate(session, motion.id, age)
        return motion

    return make


def backdate(session, motion_id: str, age: timedelta) -> None:
    """Make a motion and its history look `age` old."""
    then = utcnow() - age
    session.execute(update(Motion).where(Motion.id == motion_id).values(updated_at=then, created_at=then))
    session.execute(update(MotionEvent).where(MotionEvent.motion_id == motion_id).values(at=then))
    session.commit()
