"""Fixtures for the hostile-input suite: a caller's key, a motion to aim at, and the checks every answer must pass."""

import hashlib
import hmac
from contextlib import contextmanager

import pytest
from sqlalchemy import event

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}
WEBHOOK_SECRET = "sandbox-webhook-secret"  # the test settings' JOGG_WEBHOOK_SECRET


def sign(raw: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """JoggAI's signature: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def assert_answered(resp) -> None:
    """Never a 5xx; every error the app answers is a problem document, never HTML or a stack trace."""
    assert resp.status_code < 500, resp.data[:500]
    if resp.status_code >= 400:
        assert resp.mimetype == "application/problem+json", (resp.status_code, resp.data[:300])
        body = resp.get_json()
        assert body["status"] == resp.status_code and {"type", "title", "detail"} <= set(body)
    assert b"Traceback" not in resp.data


def assert_field_refused(resp, field: str, status: int = 422) -> dict:
    """A problem with this status whose errors name the field."""
    assert_answered(resp)
    assert resp.status_code == status, resp.get_json()
    problem = resp.get_json()
    assert field in problem.get("errors", {}), problem
    return problem


@contextmanager
def statements(engine):
    """Record every SQL statement the engine runs inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *_):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def motion_id(client, auth) -> str:
    """A queued motion of the `auth` caller."""
    resp = client.post("/v1/motions", json=VALID, headers=auth)
    assert resp.status_code == 202
    return resp.get_json()["id"]
