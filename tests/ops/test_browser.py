"""The operator page rendered by a real browser: headless Chromium over real HTTP, with a screenshot."""

import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.models import CallbackEndpoint, Status
from app.models.types import utcnow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--virtual-time-budget=3000",
]

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is absent (install Debian's chromium package)"
)


@pytest.fixture
def live_ops_url(ops_app):
    """The ops app served over real HTTP in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, ops_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once with a throwaway profile."""
    profile = tmp_path / "profile"
    command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def _fill(make_motion, make_caller, session, ops_app) -> None:
    """A spread of motions so the page has numbers and the chart has bars; a bad URL and a spent POST too."""
    for status, count in {Status.QUEUED: 4, Status.PROCESSING: 3, Status.COMPLETED: 6, Status.CANCELLED: 1}.items():
        for _ in range(count):
            make_motion(status)
    error = {"code": "jogg_failed", "message": "photo has no detectable face", "jogg_code": 40001}
    make_motion(Status.FAILED, error=error)
    make_motion(Status.FAILED, error=error)
    caller_id, _ = make_caller(name="orders-svc")
    session.add(CallbackEndpoint(caller_id=caller_id, url="http://orders-svc:8080/hooks", failing_since=utcnow()))
    session.commit()
    ops_app.extensions["post_budget"].try_acquire()


def test_chromium_renders_the_page_with_counts_and_chart(
    live_ops_url, ops_token, make_motion, make_caller, session, ops_app, tmp_path
):
    """Chromium loads /ops with the token, draws the chart, and shows the counts; the screenshot is kept."""
    _fill(make_motion, make_caller, session, ops_app)
    url = f"{live_ops_url}/ops?token={ops_token}"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "ops.png"
    screenshot.unlink(missing_ok=True)

    shot = chromium(tmp_path, f"--screenshot={screenshot}", url)
    assert screenshot.exists(), shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000

    dom = chromium(tmp_path, "--dump-dom", url).stdout
    (ARTIFACTS / "ops-dom.html").write_text(dom)
    assert 'id="count-total">16<' in dom
    for status, count in {"queued": 4, "processing": 3, "completed": 6, "failed": 2, "cancelled": 1}.items():
        assert f'id="count-{status}">{count}<' in dom, status
    # Chart.js gives the canvas pixel dimensions and an inline style when it draws; an undrawn one has neither.
    assert re.search(r'<canvas id="hourly-chart"[^>]* height="260" style="display: block;', dom), "chart not drawn"
    assert 'id="budget">1 / ' in dom and "http://orders-svc:8080/hooks" in dom
    assert "photo has no detectable face" in dom
