"""The credit forecast: JoggAI's balance read from the sandbox, the burn rate, the low alert once per crossing,
and what /readyz, /metrics and /ops show."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import account, credit_forecast
from app.extensions import db
from app.jobs import read_credits, schedule
from app.models import JoggAccount, Motion, Status
from tests.jogg_fixtures import sandbox_config

LOW_LOG = "JoggAI credits low"


def _charge(session, caller_id, credits, at, model="2.0"):
    session.add(Motion(caller_id=caller_id, status=Status.PROCESSING, image_url="https://example.com/a.png",
                       name="n", voice_id="v", model=model, credits=credits, charged_at=at))  # fmt: skip


def _stored(session) -> JoggAccount:
    session.expire_all()
    return session.get(JoggAccount, account.ACCOUNT_ID)


def test_rate_is_over_24_hours_once_spending_is_older(session, make_caller):
    """48 credits in the last 24 h (and some older): 2 per hour."""
    caller_id, _ = make_caller()
    now = datetime.now(UTC)
    for hours_ago in (23, 12, 1):
        _charge(session, caller_id, 16, now - timedelta(hours=hours_ago))
    _charge(session, caller_id, 100, now - timedelta(hours=30))
    session.commit()
    assert credit_forecast.burn_rate(session, now) == pytest.approx(48 / 23, rel=1e-3)


def test_rate_counts_since_the_first_spend_but_at_least_ten_minutes(session, make_caller):
    """Spending for 2 h: over 2 h; a spend a minute ago: over 10 minutes; no spend: 0."""
    caller_id, _ = make_caller()
    now = datetime.now(UTC)
    assert credit_forecast.burn_rate(session, now) == 0.0
    _charge(session, caller_id, 6, now - timedelta(minutes=1))
    session.commit()
    assert credit_forecast.burn_rate(session, now) == pytest.approx(36.0)
    _charge(session, caller_id, 4, now - timedelta(hours=2))
    session.commit()
    assert credit_forecast.burn_rate(session, now) == pytest.approx(5.0)


def test_hours_left():
    """remaining / rate; nothing spent: unknown; nothing left: 0."""
    assert credit_forecast.hours_left(100, 4.0) == 25.0
    assert credit_forecast.hours_left(100, 0.0) is None
    assert credit_forecast.hours_left(0, 0.0) == 0.0
    assert credit_forecast.hours_left(None, 3.0) is None


def _read(jogg_app):
    with jogg_app.app_context():
        try:
            return read_credits()
        finally:
            db.session.remove()


def test_the_clock_reads_the_sandbox_balance_and_stores_it(jogg_app, sandbox, session, make_caller, redis_client):
    """The clock task stores the sandbox's balance and the rate; a second read within the minute is skipped."""
    caller_id, _ = make_caller()
    sandbox_config(sandbox, credits=500)
    _charge(session, caller_id, 12, datetime.now(UTC) - timedelta(hours=2))
    session.commit()
    forecast = _read(jogg_app)
    assert forecast == {"remaining": 500, "per_hour": pytest.approx(6.0, rel=1e-3),
                        "hours_left": pytest.approx(83.3, abs=0.1), "low": False}  # fmt: skip
    stored = _stored(session)
    assert stored.credits_remaining == 500 and stored.credits_read_at is not None and not stored.credits_low
    sandbox_config(sandbox, credits=400)
    assert _read(jogg_app) is None  # read less than a minute ago
    assert _stored(session).credits_remaining == 500
    assert any(task.function is read_credits and task.interval <= 60 for task in schedule(jogg_app.config["SETTINGS"]))


def test_low_credits_log_one_error_per_crossing_across_concurrent_runs(jogg_app, sandbox, session, make_caller, caplog):
    """Two forecasts racing over a low balance log one ERROR; recovering clears the flag; falling again logs again."""
    caller_id, _ = make_caller()
    _charge(session, caller_id, 50, datetime.now(UTC) - timedelta(hours=1))  # 50 per hour
    session.commit()
    low_hours = jogg_app.config["SETTINGS"].credit_low_hours  # 24: 100 credits last 2 h
    barrier = threading.Barrier(2)
    results = []

    def forecast():
        with jogg_app.app_context():
            try:
                barrier.wait()
                results.append(credit_forecast.record(db.session, jogg_app.extensions["redis"], 100,
                                                      datetime.now(UTC), low_hours))  # fmt: skip
                db.session.commit()
            finally:
                db.session.remove()

    with caplog.at_level(logging.ERROR, logger="app.domain.credit_forecast"):
        threads = [threading.Thread(target=forecast) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [r.low for r in results] == [True, True]
        assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
        assert len([r for r in caplog.records if r.getMessage().startswith(LOW_LOG)]) == 1
        assert _stored(session).credits_low
        with jogg_app.app_context():
            credit_forecast.record(db.session, jogg_app.extensions["redis"], 100_000, datetime.now(UTC), low_hours)
            db.session.commit()
            db.session.remove()
        assert not _stored(session).credits_low
        with jogg_app.app_context():
            credit_forecast.record(db.session, jogg_app.extensions["redis"], 10, datetime.now(UTC), low_hours)
            db.session.commit()
            db.session.remove()
    assert len([r for r in caplog.records if r.getMessage().startswith(LOW_LOG)]) == 2


def test_readyz_metrics_and_ops_show_the_stored_forecast(jogg_app, sandbox, session, make_caller, settings):
    """After a read: /readyz's jogg block has the credits, /metrics the gauge, /ops the sentence and the chart data."""
    caller_id, _ = make_caller("billing")
    sandbox_config(sandbox, credits=30)
    _charge(session, caller_id, 20, datetime.now(UTC) - timedelta(hours=2))  # 10 per hour: 3 hours left
    session.commit()
    client = jogg_app.test_client()
    assert client.get("/readyz").get_json()["jogg"]["credits"] == {
        "remaining": None, "per_hour": None, "hours_left": None, "low": False}  # fmt: skip
    _read(jogg_app)
    credits = client.get("/readyz").get_json()["jogg"]["credits"]
    # the rate's window is 2 h plus the moments since the charge was written: 10.0 or, on a slow machine, 9.999
    assert credits == {"remaining": 30, "per_hour": pytest.approx(10.0, abs=0.002), "hours_left": 3.0, "low": True}
    assert "motion_gateway_jogg_credits_remaining 30.0" in client.get("/metrics").get_data(as_text=True)
    assert settings.ops_token, "the test settings carry an operator token"
    token = {"Authorization": f"Bearer {settings.ops_token}"}
    data = client.get("/ops/data.json", headers=token).get_json()
    assert data["credits"]["forecast"] == "30 credits left; at the last 24 h rate, about 3 hours left"
    assert data["credits_7d"]["series"]["billing"][-1] + data["credits_7d"]["series"]["billing"][-2] == 20
    page = client.get("/ops", headers=token).get_data(as_text=True)
    assert "about 3 hours left" in page and 'id="credits-chart"' in page


def test_the_balance_is_read_each_minute_while_motions_are_submitted(session, make_caller):
    """Queued motions or a recent charge: a read 55 s after the last is due; idle: not before 15 minutes."""
    caller_id, _ = make_caller()
    now = datetime.now(UTC)
    assert credit_forecast.claim(session, now)  # never read: due
    session.commit()
    assert not credit_forecast.claim(session, now + timedelta(seconds=55))  # idle
    session.rollback()
    _charge(session, caller_id, 2, now)
    session.commit()
    assert credit_forecast.claim(session, now + timedelta(seconds=55))  # charged a moment ago
    session.commit()
    assert not credit_forecast.claim(session, now + timedelta(seconds=80))  # claimed 25 s ago
    session.rollback()
    assert credit_forecast.claim(session, now + timedelta(minutes=30))  # idle again, but 15 minutes passed
    session.commit()
