"""What /ops/data.json and the /ops page report, checked against rows made through the domain."""

import re
from datetime import UTC, datetime, timedelta

from rq import Queue

from app import jobs
from app.domain import account
from app.models import CallbackEndpoint, Motion, Status
from app.models.types import utcnow
from app.ops.snapshot import hourly_by_status
from app.queues import CALLBACKS

PLAN = {Status.QUEUED: 3, Status.PROCESSING: 2, Status.COMPLETED: 1, Status.CANCELLED: 1}
FAILED_ERROR = {"code": "jogg_failed", "message": "JoggAI could not animate the photo", "jogg_code": 40001}


def _scenario(session, make_motion, make_caller, ops_app):
    """Three queued, two processing, one each of completed, failed and cancelled; plus budget, a job, a bad URL."""
    made = {status: [make_motion(status) for _ in range(n)] for status, n in PLAN.items()}
    made[Status.FAILED] = [make_motion(Status.FAILED, error=FAILED_ERROR)]
    caller_id, _ = make_caller(name="orders-svc")
    session.add(CallbackEndpoint(caller_id=caller_id, url="http://orders-svc:8080/hooks", failing_since=utcnow()))
    account.pause(session, account.OUT_OF_CREDIT, "credit balance 0", probe_in=60)
    session.commit()
    ops_app.extensions["post_budget"].try_acquire()
    ops_app.extensions["post_budget"].try_acquire()
    Queue(CALLBACKS, connection=ops_app.extensions["redis"]).enqueue(jobs.deliver, 1)
    return made


def test_data_json_counts_match_what_was_created(ops_client, ops_token, session, make_motion, make_caller, ops_app):
    """Counts, pause state, budget, queues, oldest motion, failing URLs and errors all match the rows."""
    made = _scenario(session, make_motion, make_caller, ops_app)
    data = ops_client.get("/ops/data.json", headers={"Authorization": f"Bearer {ops_token}"}).json
    by_status = data["motions_24h"]["by_status"]
    assert by_status == {"queued": 3, "processing": 2, "completed": 1, "failed": 1, "cancelled": 1}
    assert data["motions_24h"]["total"] == 8
    assert sum(sum(counts) for counts in data["hourly"]["series"].values()) == 8
    assert data["jogg"]["submissions"] == "paused" and data["jogg"]["reason"] == "out_of_credit"
    assert data["post_budget"]["in_use"] == 2 and data["post_budget"]["size"] == ops_app.extensions["post_budget"].size
    assert data["queues"][CALLBACKS] == {"waiting": 1, "failed": 0}
    assert data["oldest_queued"]["id"] == made[Status.QUEUED][0].id
    assert data["failing_callbacks"][0]["caller"] == "orders-svc"
    assert data["latest_errors"] == [{**_error_view(made[Status.FAILED][0]), "code": "jogg_failed", "jogg_code": 40001}]


def _error_view(motion: Motion) -> dict:
    """The error row the snapshot should show for this motion."""
    return {
        "motion_id": motion.id,
        "status": "failed",
        "message": FAILED_ERROR["message"],
        "updated_at": motion.updated_at.isoformat(),
    }


def test_page_shows_the_numbers(ops_client, ops_token, session, make_motion, make_caller, ops_app):
    """The HTML carries the same numbers as the data, and the chart element with its data."""
    made = _scenario(session, make_motion, make_caller, ops_app)
    page = ops_client.get("/ops", headers={"Authorization": f"Bearer {ops_token}"}).get_data(as_text=True)
    for status, count in {"queued": 3, "processing": 2, "completed": 1, "failed": 1, "cancelled": 1}.items():
        assert re.search(rf'id="count-{status}">{count}<', page), status
    assert 'id="count-total">8<' in page
    assert re.search(r'id="budget">2 / \d+<', page)
    assert 'id="submissions">paused<' in page and "out_of_credit" in page and "credit balance 0" in page
    assert f'id="queue-{CALLBACKS}">1<' in page
    assert made[Status.QUEUED][0].id in page
    assert "http://orders-svc:8080/hooks" in page
    assert FAILED_ERROR["message"] in page
    assert '<canvas id="hourly-chart"' in page and "/static/ops/chart.umd.min.js" in page


def test_window_and_buckets_follow_created_at(ops_client, ops_token, session, make_motion):
    """A motion older than 24 h is left out; one made 3.5 h ago lands in the bucket of its clock hour."""
    old, recent = make_motion(), make_motion(Status.PROCESSING)
    old.created_at = utcnow() - timedelta(hours=25)
    recent.created_at = utcnow() - timedelta(hours=3, minutes=30)
    session.commit()
    data = ops_client.get("/ops/data.json", headers={"Authorization": f"Bearer {ops_token}"}).json
    assert data["motions_24h"]["total"] == 1
    bucket = data["hourly"]["labels"].index(recent.created_at.strftime("%H:00"))
    assert data["hourly"]["series"]["processing"][bucket] == 1
    assert data["oldest_queued"]["id"] == old.id and data["oldest_queued"]["age_seconds"] >= 25 * 3600


def test_latest_errors_are_the_newest_ten_and_skip_cleared_ones(ops_client, ops_token, session, make_motion):
    """Ten errors at most, newest first; an error cleared by a retry is not listed."""
    failed = [make_motion(Status.FAILED, error={**FAILED_ERROR, "message": f"boom {i}"}) for i in range(12)]
    for i, motion in enumerate(failed):
        motion.updated_at = utcnow() - timedelta(minutes=60 - i)
    failed[-1].error = None  # as a retry leaves it (JSON null, not SQL NULL)
    session.commit()
    errors = ops_client.get("/ops/data.json", headers={"Authorization": f"Bearer {ops_token}"}).json["latest_errors"]
    assert [error["message"] for error in errors] == [f"boom {i}" for i in range(10, 0, -1)]


def test_an_empty_service_reads_calmly(ops_client, ops_token):
    """With nothing in flight the page says so instead of failing."""
    page = ops_client.get("/ops", headers={"Authorization": f"Bearer {ops_token}"}).get_data(as_text=True)
    assert 'id="count-total">0<' in page
    assert "none waiting" in page and 'id="submissions">flowing<' in page


def test_redis_down_shows_unavailable(make_ops_app, settings, session, make_motion):
    """With Redis unreachable the page still renders, the Redis sections reading "unavailable"."""
    make_motion()
    down = make_ops_app(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    token = down.config["SETTINGS"].ops_token
    resp = down.test_client().get("/ops", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert page.count("unavailable (Redis did not answer)") == 2 and 'id="count-total">1<' in page
    data = down.test_client().get("/ops/data.json", headers={"Authorization": f"Bearer {token}"}).json
    assert data["queues"] == data["post_budget"] == "unavailable"


def test_hourly_buckets_are_clock_hours(session, make_motion):
    """At 15:17 the buckets are 16:00 yesterday ... 15:00 today; a motion made at 15:05 counts under 15:00."""
    now = datetime(2026, 11, 29, 15, 17, 42, tzinfo=UTC)
    made_at = {
        "current hour": now.replace(minute=5),
        "previous hour, last second": now.replace(minute=59, second=59) - timedelta(hours=1),
        "first bucket, first second": now.replace(minute=0, second=0) - timedelta(hours=23),
        "just before the window": now.replace(minute=59, second=59) - timedelta(hours=24),
    }
    for moment in made_at.values():
        make_motion(Status.COMPLETED).created_at = moment
    session.commit()
    hourly = hourly_by_status(session, now)
    assert hourly["labels"][0] == "16:00" and hourly["labels"][-1] == "15:00"
    assert all(label.endswith(":00") for label in hourly["labels"]) and len(hourly["labels"]) == 24
    counts = hourly["series"]["completed"]
    assert (counts[0], counts[22], counts[23], sum(counts)) == (1, 1, 1, 3)
