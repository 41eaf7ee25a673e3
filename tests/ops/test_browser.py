"""The operator page in a real browser: headless Chromium logs in through the form over real HTTP, with a screenshot."""

import json
import re

import pytest

from app.models import CallbackEndpoint, Status
from app.models.types import utcnow
from tests.browser import ARTIFACTS, Browser, needs_chromium, served

pytestmark = needs_chromium


@pytest.fixture
def live_ops_url(ops_app):
    """The ops app served over real HTTP in a thread; yields its base URL."""
    with served(ops_app) as url:
        yield url


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium with a throwaway profile."""
    running = Browser(tmp_path / "profile")
    yield running
    running.close()


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


def test_chromium_logs_in_and_renders_the_page_with_counts_and_chart(
    live_ops_url, ops_token, make_motion, make_caller, session, ops_app, browser
):
    """Chromium is sent to the login form, logs in with the token, then sees the counts and the chart."""
    _fill(make_motion, make_caller, session, ops_app)
    browser.call("Page.navigate", url=f"{live_ops_url}/ops")
    browser.wait_for("location.pathname === '/ops/login' && document.readyState === 'complete'")
    browser.evaluate("document.getElementById('token').value = 'not-the-token'; document.forms[0].submit()")
    browser.wait_for("document.getElementById('login-failed') !== null")
    browser.evaluate(f"document.getElementById('token').value = {json.dumps(ops_token)}; document.forms[0].submit()")
    browser.wait_for("location.pathname === '/ops' && document.getElementById('count-total') !== null")
    browser.wait_for("document.getElementById('hourly-chart').style.display === 'block'")
    assert browser.evaluate("document.cookie") == ""  # HttpOnly: no script can read the login

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "ops.png"
    browser.screenshot(screenshot)
    assert screenshot.stat().st_size > 10_000
    dom = browser.evaluate("document.documentElement.outerHTML")
    (ARTIFACTS / "ops-dom.html").write_text(dom)
    assert ops_token not in dom and browser.evaluate("location.search") == ""
    assert 'id="count-total">16<' in dom
    for status, count in {"queued": 4, "processing": 3, "completed": 6, "failed": 2, "cancelled": 1}.items():
        assert f'id="count-{status}">{count}<' in dom, status
    # Chart.js gives the canvas pixel dimensions and an inline style when it draws; an undrawn one has neither.
    assert re.search(r'<canvas id="hourly-chart"[^>]* height="260" style="display: block;', dom), "chart not drawn"
    assert 'id="budget">1 / ' in dom and "http://orders-svc:8080/hooks" in dom
    assert "photo has no detectable face" in dom
