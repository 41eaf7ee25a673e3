"""The pull feed, the 5-day rule for failing URLs, and redelivery from the CLI."""

import json
from datetime import timedelta

from sqlalchemy import select

from app.domain.callers import create_caller
from app.models import CallbackEndpoint, Delivery, Status
from app.models.types import utcnow
from app.notifications import delivery as deliveries


def feed(client, key, after=None, limit=3):
    """One page of GET /v1/events."""
    query = f"?limit={limit}" + (f"&after={after}" if after else "")
    resp = client.get(f"/v1/events{query}", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_pull_feed_returns_every_event_once_across_pages(notify_app, session, motion_with_callback, move):
    """Paging with the cursor sees every event exactly once, in order, including ones created mid-way."""
    client = notify_app.test_client()
    creds = create_caller(session, "puller")
    session.commit()
    motions = [motion_with_callback(None, creds.caller_id) for _ in range(3)]
    for motion_id in motions:
        move(motion_id, Status.PROCESSING)
    seen, cursor = [], None
    page = feed(client, creds.api_key, cursor, limit=2)
    seen += page["items"]
    cursor = page["next_cursor"]
    for motion_id in motions:  # events created while the caller is paging
        move(motion_id, Status.COMPLETED)
    while True:
        page = feed(client, creds.api_key, cursor, limit=2)
        if not page["items"]:
            break
        seen += page["items"]
        cursor = page["next_cursor"]
    ids = [e["id"] for e in seen]
    assert len(ids) == 6 and len(set(ids)) == 6
    for motion_id in motions:
        assert [e["type"] for e in seen if e["data"]["id"] == motion_id] == ["motion.processing", "motion.completed"]
    assert feed(client, creds.api_key, cursor)["items"] == []  # resumable: nothing new, nothing repeated


def test_feed_is_per_caller_and_refuses_bad_cursors(notify_app, session, motion_with_callback, move, make_caller):
    """A caller sees only its own events; a forged cursor is 422."""
    client = notify_app.test_client()
    mine = create_caller(session, "mine")
    session.commit()
    _, other_key = make_caller()
    move(motion_with_callback(None, mine.caller_id), Status.CANCELLED)
    assert len(feed(client, mine.api_key)["items"]) == 1
    assert feed(client, other_key)["items"] == []
    resp = client.get("/v1/events?after=garbage", headers={"Authorization": f"Bearer {mine.api_key}"})
    assert resp.status_code == 422 and "after" in resp.get_json()["errors"]


def test_five_days_of_failures_disable_the_default_url(session, make_caller, notify_app):
    """A caller's default URL failing for 5 days is disabled and shown, with a warning, in `callers list`."""
    url = "http://127.0.0.1:9/hooks"
    caller_id, _ = make_caller("flaky", callback_url=url)
    endpoint = deliveries.endpoint_for(session, caller_id, url)
    endpoint.failing_since = utcnow() - timedelta(days=5, minutes=1)
    session.commit()
    deliveries._failing(session, endpoint, utcnow())
    session.commit()
    assert session.scalars(select(CallbackEndpoint)).one().disabled_at is not None
    result = notify_app.test_cli_runner().invoke(args=["callers", "list"])
    assert "WARNING" in result.output and url in result.output


def test_cli_redelivers_what_failed_since(notify_app, session, motion_with_callback, move, make_caller):
    """`callers redeliver NAME --since` opens a new delivery for each failed one."""
    caller_id, _ = make_caller("unlucky")
    motion_id = motion_with_callback("http://127.0.0.1:9/hooks", caller_id)
    move(motion_id, Status.CANCELLED)
    failed = session.scalars(select(Delivery)).one()
    failed.status = "failed"
    session.commit()
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    result = notify_app.test_cli_runner().invoke(args=["callers", "redeliver", "unlucky", "--since", since])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["redelivered"]) == 1
    assert sorted(session.scalars(select(Delivery.status).execution_options(populate_existing=True))) == [
        "failed", "pending",
    ]  # fmt: skip
