"""A Sentinel group that requires a password (servers and sentinels alike): the URL's password opens both."""

import pytest

from app import create_app
from devstack.sentinel import SentinelGroup

PASSWORD = "s3cret-pa55"


@pytest.fixture(scope="module")
def locked_group():
    """A Sentinel group whose servers and sentinels all require PASSWORD."""
    with SentinelGroup(password=PASSWORD) as group:
        yield group


def test_the_urls_password_reaches_servers_and_sentinels(app, settings, locked_group):
    """readyz is ready and the POST budget counts on the master, through a password-protected group."""
    locked = create_app(settings.with_overrides(redis_url=locked_group.url))
    assert locked.test_client().get("/readyz").status_code == 200
    budget = locked.extensions["post_budget"]
    budget.reset()
    assert budget.try_acquire()
    assert locked_group.client(locked_group.master_port()).keys("LIMITS:*")
    budget.reset()


def test_a_wrong_password_is_unready_without_quoting_it(app, settings, locked_group):
    """A wrong password makes readyz 503 naming Redis; the answer never carries the password."""
    url = locked_group.url.replace(PASSWORD, "wrong-password")
    resp = create_app(settings.with_overrides(redis_url=url)).test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["redis"].startswith("error")
    assert b"wrong-password" not in resp.data and PASSWORD.encode() not in resp.data
