"""Fixtures for pre-flight: images made with Pillow, a local image host, rude hosts, and the voice sandbox."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from PIL import Image

ALLOWED = ("localhost",)  # the local image host by name; 127.0.0.1 itself stays refused


def image_bytes(width: int, height: int, fmt: str = "PNG") -> bytes:
    """An encoded picture of the given size and Pillow format."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", (width, height), (90, 140, 200))
    picture.save(buffer, fmt)
    return buffer.getvalue()


class RudeHost:
    """A TCP server that reads a request and then behaves badly, as `behave(connection)` says."""

    def __init__(self, behave: Callable[[socket.socket, threading.Event], None]) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.stop = threading.Event()
        self.behave = behave
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Where it listens, by the allowlisted name."""
        return f"http://localhost:{self.listener.getsockname()[1]}/face.png"

    def _serve(self) -> None:
        """Accept connections until stopped; each gets its own thread."""
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        """Read the request head, then misbehave."""
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                self.behave(conn, self.stop)
            except OSError:
                pass

    def close(self) -> None:
        """Stop accepting and release any connection held."""
        self.stop.set()
        self.listener.close()


def hang(conn: socket.socket, stop: threading.Event) -> None:
    """Never answer (until the test ends)."""
    stop.wait(30)


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Send a PNG's headers and then one byte every 0.2 s, for ever."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
    for byte in image_bytes(1024, 1024)[:500]:
        if stop.wait(0.2):
            return
        conn.sendall(bytes([byte]))


def cut_short(conn: socket.socket, stop: threading.Event) -> None:
    """Promise 100000 bytes, send 1000 of a good PNG, close."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
    conn.sendall(image_bytes(1024, 1024)[:1000])


@pytest.fixture
def rude_host() -> Iterator[Callable[[Callable], RudeHost]]:
    """Start rude hosts; all closed after the test."""
    hosts: list[RudeHost] = []

    def start(behave: Callable) -> RudeHost:
        host = RudeHost(behave)
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.close()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def endless_body() -> Iterator[bytes]:
    """A PNG header and then zeros for ever (the check must stop reading at the size limit)."""
    yield image_bytes(1024, 1024)[:64]
    chunk = bytes(64 * 1024)
    while True:
        yield chunk
        time.sleep(0)


class ImageHost:
    """A local HTTP image host: `/{W}x{H}.png` (any prefix) is a PNG of that size; it counts every GET by path.

    While `hanging` is set, paths under `/slow/` are held until `released` is set (or 30 s pass): a slow host.
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        host = self
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.hanging, self.released = threading.Event(), threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with host.lock:
                    host.hits[self.path] = host.hits.get(self.path, 0) + 1
                if self.path.startswith("/slow/") and host.hanging.is_set():
                    host.released.wait(30)
                width, height = (int(n) for n in self.path.rsplit("/", 1)[1].split(".")[0].split("x"))
                body = image_bytes(width, height)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        """The address of `path` by the allowlisted name."""
        return f"http://localhost:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        """Let held requests go and stop serving."""
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def image_host() -> Iterator[ImageHost]:
    """A local image host for the workflow tests, stopped after the test."""
    host = ImageHost()
    yield host
    host.close()
