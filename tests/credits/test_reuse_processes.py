"""Following end to end: real worker and clock processes, the sandbox, its webhooks, and callbacks to a receiver."""

import json

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from app import create_app
from app.models import Motion, Status
from tests.credits.live import serving
from tests.jogg_fixtures import MOTION, sandbox_config, sandbox_stats, wait_until

WEBHOOK_SECRET = "sandbox-webhook-secret"
LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def reuse_app(jogg_settings):
    """The sandbox-wired app, with callbacks to loopback allowed (the receiver runs here)."""
    return create_app(jogg_settings.with_overrides(callback_allowed_networks=(LOOPBACK,)))


def _post(client, key, **fields):
    resp = client.post(
        "/v1/motions", json={**MOTION, "name": "twin", **fields}, headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()


def _statuses(session, ids) -> set[str]:
    stmt = select(Motion.status).where(Motion.id.in_(ids)).execution_options(populate_existing=True)
    return set(session.scalars(stmt))


def _completed_bodies(server: HTTPServer) -> list[dict]:
    """The motion snapshots of the motion.completed callbacks received."""
    bodies = [json.loads(request.get_data()) for request, _ in server.log]
    return [body["data"] for body in bodies if body["type"] == "motion.completed"]


def test_followers_complete_with_their_leader_after_one_post_and_are_called_back(
    reuse_app, sandbox, session, make_caller, processes, httpserver: HTTPServer
):
    """One POST to JoggAI for three identical motions: the followers complete with the leader, each called back."""
    httpserver.expect_request("/hooks", method="POST").respond_with_data("ok")
    hook = httpserver.url_for("/hooks").replace("localhost", "127.0.0.1")
    _, key = make_caller()
    client = reuse_app.test_client()
    with serving(reuse_app) as url:
        sandbox_config(sandbox, motion_seconds=1, webhook_url=f"{url}/webhooks/jogg", webhook_secret=WEBHOOK_SECRET)
        leader = _post(client, key, callback_url=hook)
        followers = [_post(client, key, callback_url=hook, reuse=True) for _ in range(2)]
        assert {f["reused_from"] for f in followers} == {leader["id"]}
        procs = processes(PREFLIGHT="false", CALLBACK_ALLOWED_NETWORKS=LOOPBACK)
        procs.start("worker")
        procs.start("clock")
        ids = [leader["id"], *(f["id"] for f in followers)]
        wait_until(lambda: _statuses(session, ids) == {Status.COMPLETED}, timeout=60, interval=0.2)
        wait_until(lambda: len(_completed_bodies(httpserver)) == 3, timeout=30, interval=0.2)

    assert sandbox_stats(sandbox)["add_motion_calls"] == 1
    rows = {m.id: m for m in session.scalars(select(Motion).where(Motion.id.in_(ids)))}
    root = rows[leader["id"]]
    for follower in followers:
        row = rows[follower["id"]]
        assert (row.credits, row.preview_url, row.avatar_id) == (0, root.preview_url, root.avatar_id)
        assert row.submit_started_at is None and row.dispatched_at is None
    by_id = {body["id"]: body for body in _completed_bodies(httpserver)}
    assert set(by_id) == set(ids)
    for follower in followers:
        assert by_id[follower["id"]]["jogg_motion_id"] == root.jogg_motion_id is not None
        assert by_id[follower["id"]]["reused_from"] == leader["id"] and by_id[follower["id"]]["credits"] == 0
