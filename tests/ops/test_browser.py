"""The operator page in a real browser: headless Chromium logs in through the form over real HTTP, with a screenshot."""

import json
import re
from datetime import timedelta

import pytest

from app.domain import callers, credit_forecast
from app.extensions import db
from app.models import CallbackEndpoint, Motion, Status
from app.models.types import utcnow
from tests.browser import ARTIFACTS, Browser, needs_chromium, served

pytestmark = needs_chromium
SPENDERS = (("billing", 6), ("render", 10), ("search", 4))  # caller, credits a day (give or take)
SPENT_TODAY = sum(per_day // 2 for _, per_day in SPENDERS)  # completed motions charged today, created in the last 24 h


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
    _spend(session, ops_app)


def _spend(session, ops_app) -> None:
    """Credits spent by three callers over the last week, and a balance read as the clock would store it."""
    now = utcnow()
    for name, per_day in SPENDERS:
        caller_id, _ = make_caller_directly(session, name)
        for days_ago in range(7):
            for hour in range(per_day // 2 + days_ago % 3):
                charged_at = now - timedelta(days=days_ago, hours=hour + 1)
                session.add(Motion(caller_id=caller_id, status=Status.COMPLETED, image_url="https://img.example.com/a.png",
                                   name="spent", voice_id="v", model="2.0", credits=2, charged_at=charged_at,
                                   created_at=charged_at - timedelta(minutes=1)))  # fmt: skip
    session.commit()
    with ops_app.app_context():
        credit_forecast.record(db.session, ops_app.extensions["redis"], 900, now, 24.0)
        db.session.commit()
        db.session.remove()


def make_caller_directly(session, name):
    """A caller made through the domain."""
    creds = callers.create_caller(session, name)
    session.commit()
    return creds.caller_id, creds.api_key


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
    assert f'id="count-total">{16 + SPENT_TODAY}<' in dom
    for status, count in {
        "queued": 4,
        "processing": 3,
        "completed": 6 + SPENT_TODAY,
        "failed": 2,
        "cancelled": 1,
    }.items():
        assert f'id="count-{status}">{count}<' in dom, status
    # Chart.js gives the canvas pixel dimensions and an inline style when it draws; an undrawn one has neither.
    assert re.search(r'<canvas id="hourly-chart"[^>]* height="260" style="display: block;', dom), "chart not drawn"
    assert 'id="budget">1 / ' in dom and "http://orders-svc:8080/hooks" in dom
    assert "photo has no detectable face" in dom
    assert 'id="credits-remaining">900<' in dom and "at the last 24 h rate, about" in dom
    assert re.search(r'<canvas id="credits-chart"[^>]* style="display: block;', dom), "credits chart not drawn"
