"""Browser tests' parts: an app served over real HTTP, and headless Chromium run once or driven over DevTools."""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Mark a browser test module with this: skipped where Chromium is not installed.
needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is absent (install Debian's chromium package)"
)


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve the app over real HTTP in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once with a throwaway profile and these extra flags and URL; its output."""
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


# What Chromium answers an evaluation that met a navigation: the page it asked is gone, the next not there yet.
NAVIGATING = ("Inspected target navigated or closed", "Cannot find context with specified id")
DEVTOOLS_FLAGS = ["--disable-quic", "--window-size=1280,900", "--remote-debugging-pipe"]


class Browser:
    """One Chromium process with one page; commands go in on fd 3, answers come out on fd 4."""

    def __init__(self, profile: Path):
        """Start Chromium with a throwaway profile and open a blank page."""
        to_chrome, self._writer = os.pipe()
        self._reader, from_chrome = os.pipe()
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, *DEVTOOLS_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=lambda: _onto_3_and_4(to_chrome, from_chrome),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome), os.close(from_chrome)
        self._buffer, self._next_id, self.session = b"", 0, None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, **params) -> dict:
        """Send one command and return its result, skipping the events in between."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read_message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0):
        """Poll a JavaScript expression until it is truthy; its value, or an AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError as exc:  # the page was navigating (a form just submitted): ask the next one
                if not any(text in str(exc) for text in NAVIGATING):
                    raise
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"the page never satisfied {expression!r}; it is at {self.evaluate('location.href')}")

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the page."""
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        """Stop Chromium."""
        self.process.terminate()
        self.process.wait(timeout=10)
        os.close(self._writer), os.close(self._reader)

    def _read_message(self) -> dict:
        """The next NUL-terminated JSON message from Chromium."""
        while b"\0" not in self._buffer:
            chunk = os.read(self._reader, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)


def _onto_3_and_4(commands: int, answers: int) -> None:
    """In the child: put the command pipe on fd 3 and the answer pipe on fd 4 (by way of high numbers)."""
    high = fcntl.fcntl(commands, fcntl.F_DUPFD, 10), fcntl.fcntl(answers, fcntl.F_DUPFD, 10)
    os.dup2(high[0], 3)
    os.dup2(high[1], 4)
