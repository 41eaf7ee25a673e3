"""Fixtures for status tracking: the submission fixtures, plus the app served over real HTTP for webhooks."""

import hashlib
import hmac
import threading

import pytest
from werkzeug.serving import make_server

from tests.jogg_fixtures import sandbox_config


@pytest.fixture
def run_jobs(run_jogg_jobs):
    """Jobs run inside the app that talks to the sandbox."""
    return run_jogg_jobs


WEBHOOK_SECRET = "sandbox-webhook-secret"  # the test settings' JOGG_WEBHOOK_SECRET and the sandbox default


def sign(raw: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """JoggAI's signature: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def live_app(jogg_app, sandbox):
    """The app served over HTTP on a free port, with the sandbox's webhooks pointed at it."""
    server = make_server("127.0.0.1", 0, jogg_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"
    sandbox_config(sandbox, webhook_url=f"{url}/webhooks/jogg", webhook_secret=WEBHOOK_SECRET)
    yield url
    server.shutdown()
    server.server_close()
