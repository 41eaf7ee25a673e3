"""The callers CLI: create, list, rotate-key, rotate-secret, disable."""

import json

from sqlalchemy import select

from app.domain.callers import hash_api_key
from app.models import Caller


def run(app, *args):
    """Invoke `flask callers ...` and return the result."""
    return app.test_cli_runner().invoke(args=["callers", *args])


def test_create_prints_credentials_once_and_stores_a_hash(app, session):
    """create prints caller_id, api_key and webhook_secret; only the key's hash is stored."""
    result = run(app, "create", "billing", "--callback-url", "http://billing:8080/hooks")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["api_key"].startswith("mgw_") and out["webhook_secret"].startswith("whsec_")
    caller = session.scalars(select(Caller)).one()
    assert caller.id == out["caller_id"]
    assert caller.api_key_hash == hash_api_key(out["api_key"])
    assert out["api_key"] not in {caller.api_key_hash, caller.api_key_prefix}
    assert caller.default_callback_url == "http://billing:8080/hooks"


def test_created_key_works_against_the_api(app, client):
    """The printed key authenticates."""
    key = json.loads(run(app, "create", "orders").output)["api_key"]
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_duplicate_name_is_a_clean_error(app):
    """A second caller with the same name fails with a message, not a traceback."""
    run(app, "create", "dup")
    result = run(app, "create", "dup")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_list_shows_no_secrets(app):
    """list shows names, state and key prefixes, never keys or secrets."""
    created = json.loads(run(app, "create", "listed").output)
    result = run(app, "list")
    assert result.exit_code == 0
    listed = json.loads(result.output)["callers"]
    assert [c["name"] for c in listed] == ["listed"]
    assert created["api_key"] not in result.output and created["webhook_secret"] not in result.output


def test_rotate_key(app, client):
    """rotate-key prints a new key; the old one stops working."""
    old = json.loads(run(app, "create", "rot").output)["api_key"]
    new = json.loads(run(app, "rotate-key", "rot").output)["api_key"]
    assert new != old
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_rotate_secret_keeps_the_old_one_for_a_day(app, session):
    """rotate-secret issues a new secret and keeps the previous one with an expiry."""
    old = json.loads(run(app, "create", "sec").output)["webhook_secret"]
    new = json.loads(run(app, "rotate-secret", "sec").output)["webhook_secret"]
    caller = session.scalars(select(Caller)).one()
    assert (caller.webhook_secret, caller.previous_webhook_secret) == (new, old)
    assert caller.previous_secret_expires_at is not None


def test_disable(app, client):
    """disable revokes the caller's key."""
    key = json.loads(run(app, "create", "gone").output)["api_key"]
    assert json.loads(run(app, "disable", "gone").output)["active"] is False
    assert client.get("/v1/motions", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_unknown_caller_is_a_clean_error(app):
    """Commands on a missing caller fail with a message."""
    for command in ("rotate-key", "rotate-secret", "disable"):
        result = run(app, command, "nobody")
        assert result.exit_code != 0 and "no caller named" in result.output


def test_reconcile_runs_one_sweep(app, session, redis_client):
    """`flask reconcile` re-enqueues lost work from SQL and reports what it did."""
    from datetime import timedelta

    from rq import Queue

    from app import queues
    from app.models import OutboxEntry
    from app.models.types import utcnow

    entry = OutboxEntry(kind="jogg_event", payload={"event": 1}, due_at=utcnow() - timedelta(minutes=5))
    session.add(entry)  # committed outside the app, so never enqueued: what Redis losing it looks like
    session.commit()
    result = app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recovered"] == 1
    assert Queue(queues.DEFAULT, connection=redis_client).job_ids == [entry.job_id]
