"""Retries over real HTTP: a local server in front of the gateway answers failures first, then forwards."""

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
import requests
from motion_gateway_client import (
    AsyncClient,
    Client,
    ExternalIdTaken,
    QuotaExceeded,
    RetryPolicy,
    ServerError,
    TransportFailed,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.client.conftest import MOTION, free_port, serving

FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept", "Idempotency-Key")
PROBLEM = "urn:motion-gateway:problem:"


def problem(status: int, slug: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """A problem+json answer, as the gateway (or a proxy in front of it) would give."""
    body = {"type": PROBLEM + slug, "title": slug, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/problem+json")


@dataclass
class Seen:
    """A request as the server in front of the gateway saw it."""

    method: str
    path: str
    idempotency_key: str | None


@dataclass
class FrontServer:
    """Answers each request with the next scripted step; once the script is used up, forwards to the gateway."""

    upstream: str
    script: list[Callable[[Request], Response]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    upstream_replays: list[str | None] = field(default_factory=list)

    def answer(self, request: Request) -> Response:
        """Record the request, then play the next step."""
        self.seen.append(Seen(request.method, request.path, request.headers.get("Idempotency-Key")))
        step = self.script.pop(0) if self.script else self.forward
        return step(request)

    def forward(self, request: Request) -> Response:
        """Pass the request to the gateway and its answer back."""
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        upstream = requests.request(
            request.method, self.upstream + request.path, params=request.args, data=request.get_data(),
            headers=headers, timeout=10,
        )  # fmt: skip
        self.upstream_replays.append(upstream.headers.get("Idempotent-Replayed"))
        content_type = upstream.headers.get("Content-Type")
        return Response(upstream.content, status=upstream.status_code, content_type=content_type)

    def lose_answer(self, status: int) -> Callable[[Request], Response]:
        """A step that forwards (the gateway acts) but answers the client with an error: the answer is lost."""

        def step(request: Request) -> Response:
            self.forward(request)
            return Response("<html>bad gateway</html>", status=status, content_type="text/html")

        return step


@pytest.fixture
def front(httpserver: HTTPServer, gateway) -> FrontServer:
    """A pytest-httpserver in front of the served gateway."""
    server = FrontServer(gateway)
    httpserver.expect_request(re.compile("^/v1/")).respond_with_handler(server.answer)
    return server


@pytest.fixture
def front_client(httpserver: HTTPServer, front, caller):
    """A client for the caller that talks to the gateway through the front server, fast backoff."""
    policy = RetryPolicy(max_retries=3, backoff_base=0.05, backoff_cap=0.2)
    with Client(httpserver.url_for("/"), caller.api_key, timeout=10.0, retry_policy=policy) as made:
        yield made


@pytest.fixture
def retries(caplog) -> Callable[[], list[logging.LogRecord]]:
    """The retry records the client logged."""
    caplog.set_level(logging.INFO, logger="motion_gateway_client")
    return lambda: [r for r in caplog.records if r.name == "motion_gateway_client" and hasattr(r, "retry_delay")]


def test_503_then_202_retries_with_the_same_key_after_retry_after(front, front_client, gateway_client, retries):
    """A 503 with Retry-After: the client waits what it was told and sends the same Idempotency-Key again."""
    front.script = [lambda _: problem(503, "database-unavailable", "retry shortly", {"Retry-After": "1"})]
    motion = front_client.create_motion(**MOTION)
    assert gateway_client.get_motion(motion.id).status == "queued"
    assert [s.method for s in front.seen] == ["POST", "POST"]
    keys = {s.idempotency_key for s in front.seen}
    assert len(keys) == 1 and None not in keys
    assert [(r.retry_delay, r.retry_reason) for r in retries()] == [(1.0, "503")]


def test_a_lost_answer_is_replayed_never_made_twice(front, front_client, gateway_client):
    """The gateway made the motion but its answer was lost (502): the retry gets the same motion replayed."""
    front.script = [front.lose_answer(502)]
    motion = front_client.create_motion(**MOTION)
    assert front.upstream_replays == [None, "true"]
    assert [m.id for m in gateway_client.list_motions()] == [motion.id]


def test_key_in_flight_then_429_then_504_are_all_retried(front, front_client, gateway_client, retries):
    """409 key-in-flight, a 429 and a 504 without Retry-After: backoff with jitter under the policy's ceilings."""
    front.script = [
        lambda _: problem(409, "idempotencyinflight", "the first request is still being handled"),
        lambda _: problem(429, "quota-exceeded", "slow down"),
        lambda _: Response("gateway timeout", status=504),
    ]
    motion = front_client.create_motion(**MOTION)
    assert gateway_client.get_motion(motion.id).id == motion.id
    assert len({s.idempotency_key for s in front.seen}) == 1 and len(front.seen) == 4
    delays = [r.retry_delay for r in retries()]
    assert [r.retry_reason for r in retries()] == ["409", "429", "504"]
    assert all(0 <= delay <= min(0.2, 0.05 * 2**n) for n, delay in enumerate(delays)), delays


def test_other_conflicts_are_not_retried(front, front_client):
    """A 409 that is not key-in-flight (a duplicate external_id) is raised at once."""
    front_client.create_motion(**MOTION, external_id="dup")
    before = len(front.seen)
    with pytest.raises(ExternalIdTaken):
        front_client.create_motion(**MOTION, external_id="dup")
    assert len(front.seen) == before + 1


def test_a_retry_after_beyond_the_limit_raises_quota_exceeded(front, front_client):
    """A quota that resets in an hour is not waited for: QuotaExceeded with retry_after, after one request."""
    front.script = [lambda _: problem(429, "quota-exceeded", "used 10 of 10 credits", {"Retry-After": "3600"})]
    with pytest.raises(QuotaExceeded) as caught:
        front_client.create_motion(**MOTION)
    assert caught.value.retry_after == 3600 and caught.value.problem["detail"] == "used 10 of 10 credits"
    assert len(front.seen) == 1


def test_gives_up_after_max_retries_with_the_last_problem(front, httpserver, caller):
    """Always 503: max_retries retries, then ServerError carrying the problem document and retry_after."""
    front.script = [lambda _: problem(503, "database-unavailable", "down", {"Retry-After": "0"})] * 5
    with Client(httpserver.url_for("/"), caller.api_key, max_retries=2) as client, pytest.raises(ServerError) as caught:
        client.get_motion("mot_x")
    assert len(front.seen) == 3 and caught.value.retry_after == 0 and caught.value.type.endswith("unavailable")


def test_a_proxy_html_page_becomes_a_problem(front, front_client):
    """A 502 HTML page from something in between: ServerError with a made-up problem document."""
    front.script = [lambda _: Response("<html>bad gateway</html>", status=502, content_type="text/html")] * 4
    with pytest.raises(ServerError) as caught:
        front_client.get_motion("mot_x")
    assert caught.value.problem == {"type": "about:blank", "title": "BAD GATEWAY", "status": 502,
                                    "detail": "<html>bad gateway</html>"}  # fmt: skip


def test_cancel_is_not_repeated_after_an_ambiguous_502(front, front_client, gateway_client):
    """cancel is not idempotent: after a 502 (maybe handled) it is not sent again; after a 503 it is."""
    motion = gateway_client.create_motion(**MOTION)
    front.script = [lambda _: Response("bad gateway", status=502)]
    with pytest.raises(ServerError):
        front_client.cancel(motion.id)
    assert len(front.seen) == 1
    front.script = [lambda _: problem(503, "database-unavailable", "down", {"Retry-After": "0"})]
    assert front_client.cancel(motion.id).status == "cancelled"
    assert len(front.seen) == 3


def test_connection_refused_is_retried_until_the_server_is_up(gateway_app, caller, retries):
    """Nothing listens at first; the server starts while the client backs off; the retry reaches it."""
    port, started = free_port(), []

    class StartServerOnFirstRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not started:
                started.append(servers.enter_context(serving(gateway_app, port)))

    handler = StartServerOnFirstRetry()
    logger = logging.getLogger("motion_gateway_client")
    with contextlib.ExitStack() as servers:
        logger.addHandler(handler)
        servers.callback(logger.removeHandler, handler)
        with Client(f"http://127.0.0.1:{port}", caller.api_key, timeout=10.0) as client:
            motion = client.create_motion(**MOTION)
            assert client.get_motion(motion.id).status == "queued"
    assert [r.retry_reason for r in retries()] == ["ConnectError"]


def test_unreachable_service_raises_transport_failed(caller):
    """Nothing ever listens: TransportFailed after the retries, caused by httpx's ConnectError."""
    policy = RetryPolicy(max_retries=2, backoff_base=0.01)
    with Client(f"http://127.0.0.1:{free_port()}", "mgw_x", retry_policy=policy) as client:
        with pytest.raises(TransportFailed) as caught:
            client.get_motion("mot_x")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_async_client_retries_the_same_way(front, httpserver, caller, gateway_client):
    """AsyncClient: a 503 then the gateway's 202, one key for both."""
    front.script = [lambda _: problem(503, "database-unavailable", "down", {"Retry-After": "0"})]

    async def create():
        async with AsyncClient(httpserver.url_for("/"), caller.api_key, timeout=10.0) as client:
            return await client.create_motion(**MOTION)

    motion = asyncio.run(create())
    assert gateway_client.get_motion(motion.id).status == "queued"
    assert len(front.seen) == 2 and len({s.idempotency_key for s in front.seen}) == 1
