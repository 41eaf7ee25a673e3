"""Submission tests run their jobs in the sandbox-wired app (fixtures: tests/jogg_fixtures.py)."""

import pytest

from tests.tracking.conftest import live_app  # noqa: F401  (the app over HTTP, JoggAI's webhooks pointed at it)


@pytest.fixture
def run_jobs(run_jogg_jobs):
    """Jobs run inside the app that talks to the sandbox."""
    return run_jogg_jobs
