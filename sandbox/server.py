"""Serving the sandbox: in the foreground for `python -m sandbox`, in a thread for tests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.app import create_app, sandbox_state
from sandbox.config import SandboxConfig, listen_address
from sandbox.state import SandboxState

log = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """Serves like werkzeug's handler without a log line per request (benchmarks send thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log line."""


class RunningSandbox(NamedTuple):
    """A sandbox serving in a background thread; unpacks as (base_url, stop, state)."""

    base_url: str
    stop: Callable[[], None]
    state: SandboxState


def serve_in_thread(
    config: SandboxConfig | Mapping[str, Any] | None = None, host: str = "127.0.0.1", access_log: bool = False
) -> RunningSandbox:
    """Start a threaded sandbox on a free port; call `stop()` to shut it and its timers down."""
    app = create_app(config)
    handler = WSGIRequestHandler if access_log else QuietRequestHandler
    server = make_server(host, 0, app, threaded=True, request_handler=handler)
    # A short poll interval makes stop() quick, which keeps test teardown fast.
    serve = partial(server.serve_forever, poll_interval=0.05)
    thread = threading.Thread(target=serve, name="sandbox-http", daemon=True)
    thread.start()
    state = sandbox_state(app)
    stopped = threading.Event()

    def stop() -> None:
        """Close the state (timers, hangs) and the server; safe to call twice."""
        if stopped.is_set():
            return
        stopped.set()
        state.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return RunningSandbox(f"http://{host}:{server.port}", stop, state)


def serve_forever(environ: Mapping[str, str] | None = None) -> None:
    """Serve on SANDBOX_HOST:SANDBOX_PORT until interrupted."""
    host, port = listen_address(environ)
    app = create_app(SandboxConfig.from_env(environ))
    server = make_server(host, port, app, threaded=True)
    state = sandbox_state(app)
    log.info("JoggAI sandbox on http://%s:%s (control API under /_sandbox)", host, server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.close()
        server.server_close()
