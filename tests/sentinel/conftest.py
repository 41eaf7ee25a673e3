"""A real Sentinel group on loopback (one master, one replica, three sentinels) and an app that uses it."""

import pytest

from app import create_app
from devstack.sentinel import SentinelGroup


@pytest.fixture(scope="module")
def sentinel_group():
    """A Sentinel group for this module's tests; a test that fails over leaves it settled."""
    with SentinelGroup() as group:
        yield group


@pytest.fixture
def sentinel_settings(app, settings, sentinel_group):
    """The test settings with REDIS_URL naming the Sentinel group (the database is the run's, migrated)."""
    return settings.with_overrides(redis_url=sentinel_group.url)


@pytest.fixture
def sentinel_app(sentinel_settings, sentinel_group):
    """An app on the Sentinel group; its Redis database is emptied after the test."""
    app = create_app(sentinel_settings)
    yield app
    master = sentinel_group.client(sentinel_group.master_port())
    master.flushdb()
