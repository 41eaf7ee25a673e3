"""Fixtures for the operator page: an app with the ops blueprint, its token, and a motion factory."""

import pytest

from app import create_app
from app.domain.motions import create_motion
from app.domain.transitions import transition
from app.models import Caller, Motion, Status

MOTION = {"image_url": "https://img.example.com/a.png", "name": "Ops", "voice_id": "en-US-JennyNeural", "model": "2.0"}
PATHS = {
    Status.QUEUED: (),
    Status.PROCESSING: (Status.PROCESSING,),
    Status.COMPLETED: (Status.PROCESSING, Status.COMPLETED),
    Status.FAILED: (Status.PROCESSING, Status.FAILED),
    Status.CANCELLED: (Status.CANCELLED,),
}


@pytest.fixture
def make_ops_app(app):
    """Build a fresh app serving /ops from given settings (the database is migrated by `app`)."""

    def make(settings):
        return create_app(settings)

    return make


@pytest.fixture
def ops_app(make_ops_app, settings):
    """An app serving /ops on the test database and Redis."""
    return make_ops_app(settings)


@pytest.fixture
def ops_client(ops_app):
    """A test client for the ops app."""
    return ops_app.test_client()


@pytest.fixture
def ops_token(ops_app) -> str:
    """The operator token from the test settings."""
    return ops_app.config["SETTINGS"].ops_token


@pytest.fixture
def make_motion(session, make_caller):
    """Create a motion through the domain and walk it to a status; returns the committed Motion."""
    caller_id, _ = make_caller()

    def make(status: Status = Status.QUEUED, error: dict | None = None, **fields) -> Motion:
        motion = create_motion(session, session.get(Caller, caller_id), {**MOTION, **fields})
        for target in PATHS[status]:
            transition(session, motion, target, "worker")
        if error is not None:
            motion.error = error
        session.commit()
        return motion

    return make
