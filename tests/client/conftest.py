"""Fixtures for the Python client's tests: the gateway served over HTTP, callers made by the CLI, receivers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request
from motion_gateway_client import Client, Event
from motion_gateway_client.flask import callback_blueprint
from werkzeug.serving import make_server

from app import create_app
from tests.jogg_fixtures import sandbox_config

LOOPBACK = "127.0.0.0/8"
# Worker and clock processes: callbacks may reach this machine, the feed has no lag, polls come soon, and
# the image pre-flight (which would fetch the example image URLs) is off.
WORKER_ENV = {"CALLBACK_ALLOWED_NETWORKS": LOOPBACK, "EVENTS_FEED_LAG": "0", "POLL_INTERVALS": "1",
              "PREFLIGHT": "false"}  # fmt: skip
MOTION = {"image_url": "https://img.example.com/a.png", "name": "client-test", "voice_id": "en-US-JennyNeural",
          "model": "2.0"}  # fmt: skip


@dataclass(frozen=True)
class CallerCredentials:
    """A caller as `flask callers create` printed it."""

    caller_id: int
    name: str
    api_key: str
    webhook_secret: str


@contextlib.contextmanager
def serving(wsgi_app: Any, port: int = 0) -> Iterator[str]:
    """Serve a WSGI app over real HTTP on 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", port, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gateway_settings(jogg_settings):
    """The sandbox-wired settings, with loopback callbacks allowed and no lag on the event feed."""
    return jogg_settings.with_overrides(callback_allowed_networks=(LOOPBACK,), events_feed_lag=0.0)


@pytest.fixture
def gateway_app(app, gateway_settings):
    """The gateway app on the test database and Redis."""
    return create_app(gateway_settings)


@pytest.fixture
def gateway(gateway_app, gateway_settings, sandbox) -> Iterator[str]:
    """The gateway served over HTTP, with the sandbox's webhooks pointed at it; yields its base URL."""
    with serving(gateway_app) as url:
        sandbox_config(sandbox, webhook_url=f"{url}/webhooks/jogg", webhook_secret=gateway_settings.jogg_webhook_secret)
        yield url


@pytest.fixture
def cli(gateway_app) -> Callable[..., dict[str, Any]]:
    """Run an operator command (`flask --app app ...`) and return the JSON it printed."""

    def run(*args: str) -> dict[str, Any]:
        result = gateway_app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    return run


@pytest.fixture
def new_caller(cli) -> Callable[..., CallerCredentials]:
    """Create a caller with `callers create`; returns its credentials."""

    def make(callback_url: str | None = None) -> CallerCredentials:
        extra = ["--callback-url", callback_url] if callback_url else []
        printed = cli("callers", "create", f"client-{uuid.uuid4().hex[:8]}", *extra)
        return CallerCredentials(printed["caller_id"], printed["name"], printed["api_key"], printed["webhook_secret"])

    return make


@pytest.fixture
def caller(new_caller) -> CallerCredentials:
    """A caller with no default callback URL."""
    return new_caller()


@pytest.fixture
def gateway_client(gateway, caller) -> Iterator[Client]:
    """The Python client for the caller, against the served gateway."""
    with Client(gateway, caller.api_key, timeout=10.0) as made:
        yield made


@pytest.fixture
def workers(processes) -> Callable[[], None]:
    """Start a worker and a clock process (stopped after the test)."""

    def start(**env: str) -> None:
        procs = processes(**{**WORKER_ENV, **env})
        procs.start("worker")
        procs.start("clock")

    return start


@dataclass
class CallbackReceiver:
    """A service receiving callbacks through the Flask helper: what reached it and what it accepted."""

    url: str
    events: list[Event] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0


@pytest.fixture
def callback_receiver() -> Iterator[Callable[..., CallbackReceiver]]:
    """Start receivers: a Flask app with the helper's blueprint mounted, served over HTTP."""
    with contextlib.ExitStack() as stack:

        def start(secret: str | list[str]) -> CallbackReceiver:
            receiver_app = Flask(f"receiver-{uuid.uuid4().hex[:6]}")
            received = CallbackReceiver(url="")

            @receiver_app.before_request
            def record() -> None:
                received.requests.append((dict(request.headers), request.get_data()))

            @receiver_app.after_request
            def count_refusals(response):
                received.refused += response.status_code == 401
                return response

            receiver_app.register_blueprint(callback_blueprint(secret, received.events.append, path="/hooks/motions"))
            received.url = stack.enter_context(serving(receiver_app)) + "/hooks/motions"
            return received

        yield start
