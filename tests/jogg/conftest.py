"""Fixtures for the JoggAI client tests: sandboxes over HTTP, a closed port and a rude server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.jogg import JoggClient
from sandbox import RunningSandbox, SandboxConfig, serve_in_thread

API_KEY = "jogg-test-key-5f1c9a"  # distinctive, so a leak into a message is easy to spot
FAST = {"api_key": API_KEY, "motion_seconds": 0.2, "hang_seconds": 1.0, "seed": 3}
MOTION = {
    "image_url": "https://example.com/face.png",
    "name": "client-test",
    "voice_id": "en-US-ChristopherNeural",
    "model": "2.0",
}


@pytest.fixture
def start_jogg() -> Iterator[Callable[..., tuple[JoggClient, RunningSandbox]]]:
    """Start a sandbox with FAST knobs plus overrides and a client for it; all stopped afterwards."""
    runs: list[RunningSandbox] = []

    def start(read_timeout: float = 5.0, api_key: str = API_KEY, **knobs: Any) -> tuple[JoggClient, RunningSandbox]:
        """Serve a sandbox with FAST plus `knobs`; return a JoggClient for it and the sandbox."""
        run = serve_in_thread(SandboxConfig().with_changes({**FAST, **knobs}))
        runs.append(run)
        return JoggClient(run.base_url, api_key, connect_timeout=1.0, read_timeout=read_timeout), run

    yield start
    for run in runs:
        run.stop()


@pytest.fixture(params=[False, True], ids=["errors-by-http-status", "errors-as-http-200"])
def errors_as_http_200(request: pytest.FixtureRequest) -> bool:
    """Both conventions JoggAI might use for errors: a non-200 status, or 200 with the code."""
    return request.param


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hang_up_server() -> Iterator[str]:
    """A server that reads the request, then closes the connection without a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        """Accept, read, close, until stopped."""
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
