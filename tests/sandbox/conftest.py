"""Fixtures for the sandbox tests: sandboxes served over real HTTP and a webhook receiver."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sandbox import RunningSandbox, SandboxConfig, serve_in_thread

API_KEY = "sandbox-key"
# Short clocks keep the whole sandbox suite well under 30 s.
FAST = {
    "api_key": API_KEY,
    "motion_seconds": 0.2,
    "webhook_retry_delay_seconds": 0.05,
    "webhook_timeout_seconds": 1.0,
    "hang_seconds": 1.0,
    "seed": 7,
}
MOTION = {
    "image_url": "https://example.com/face.png",
    "name": "motion-1",
    "voice_id": "en-US-ChristopherNeural",
    "model": "2.0",
}
OMIT = object()  # pass as a field value to leave the field out of the body


def wait_until(check: Callable[[], Any], timeout: float = 3.0, interval: float = 0.02) -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


class SandboxClient:
    """Talks to one running sandbox over HTTP, as a JoggAI client would."""

    def __init__(self, run: RunningSandbox) -> None:
        self.base_url = run.base_url
        self.state = run.state
        self.http = requests.Session()

    def call(self, method: str, path: str, api_key: str | None = API_KEY, **kwargs: Any) -> requests.Response:
        """One request to the sandbox, with the x-api-key header unless `api_key` is None."""
        headers = {"x-api-key": api_key} if api_key is not None else {}
        return self.http.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def add_motion(self, api_key: str | None = API_KEY, timeout: float = 10, **fields: Any) -> requests.Response:
        """POST add_motion with MOTION's fields, overridden (or left out with OMIT) by `fields`."""
        body = {key: value for key, value in {**MOTION, **fields}.items() if value is not OMIT}
        headers = {"x-api-key": api_key} if api_key is not None else {}
        url = self.base_url + "/v2/photo_avatar/add_motion"
        return self.http.post(url, json=body, headers=headers, timeout=timeout)

    def new_motion_id(self, **fields: Any) -> str:
        """Start a motion that must be accepted and return its id."""
        response = self.add_motion(**fields)
        assert response.json()["code"] == 0, response.text
        return response.json()["data"]["motion_id"]

    def status(self, motion_id: str) -> dict[str, Any]:
        """The status check's envelope."""
        return self.call("GET", "/v2/photo_avatar", params={"motion_id": motion_id}).json()

    def wait_for_status(self, motion_id: str, statuses: set[str], timeout: float = 3.0) -> dict[str, Any]:
        """Poll the status check until the motion reaches one of `statuses`; return its data."""
        return wait_until(lambda: (data := self.status(motion_id)["data"])["status"] in statuses and data, timeout)

    def configure(self, **knobs: Any) -> requests.Response:
        """POST /_sandbox/config."""
        return self.http.post(self.base_url + "/_sandbox/config", json=knobs, timeout=10)

    def stats(self) -> dict[str, Any]:
        """GET /_sandbox/stats."""
        return self.http.get(self.base_url + "/_sandbox/stats", timeout=10).json()

    def wait_for_stats(self, counter: str, value: int, timeout: float = 3.0) -> dict[str, Any]:
        """Poll the stats until `counter` reaches `value`; return them."""
        return wait_until(lambda: (stats := self.stats())[counter] >= value and stats, timeout)


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., SandboxClient]]:
    """Start sandboxes with FAST knobs plus overrides; all are stopped after the test."""
    runs: list[RunningSandbox] = []

    def start(**knobs: Any) -> SandboxClient:
        """Serve a sandbox with FAST plus `knobs` and return a client for it."""
        run = serve_in_thread(SandboxConfig().with_changes({**FAST, **knobs}))
        runs.append(run)
        return SandboxClient(run)

    yield start
    for run in runs:
        run.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxClient]) -> SandboxClient:
    """A sandbox with the FAST knobs."""
    return start_sandbox()


@dataclass(frozen=True)
class Received:
    """One webhook request as the receiver saw it."""

    body: bytes
    headers: dict[str, str]
    at: float


class Receiver:
    """A pytest-httpserver path that records webhooks and answers with scripted statuses."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.path = f"/hooks/{uuid.uuid4().hex}"  # a fresh path, so a late delivery never leaks into another test
        self.url = httpserver.url_for(self.path)
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answers to give, in order; 200 once used up
        self.delay = 0.0
        self._lock = threading.Lock()
        httpserver.expect_request(self.path, method="POST").respond_with_handler(self._answer)

    def _answer(self, request: Request) -> Response:
        """Record the request, then answer with the next scripted status."""
        with self._lock:
            self.received.append(Received(request.get_data(), dict(request.headers), time.monotonic()))
            status = self.statuses.pop(0) if self.statuses else 200
        time.sleep(self.delay)
        return Response("ok", status=status)

    def wait_for(self, count: int, timeout: float = 3.0) -> list[Received]:
        """Wait until at least `count` requests arrived; return them all."""
        return wait_until(lambda: len(self.received) >= count and list(self.received), timeout)


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    """A webhook receiver on the pytest-httpserver instance."""
    return Receiver(httpserver)
