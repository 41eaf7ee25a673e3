"""Regression tests for what an outside attack found after issue 11: each answered 500 or the wrong 4xx before."""

import io
import json

import pytest

from app.models import Caller
from tests.hostile.conftest import VALID, assert_answered, sign

LIMIT = 64 * 1024  # the test settings' MAX_BODY_BYTES


def post_streamed(client, path: str, raw: bytes, headers: dict):
    """POST a body without Content-Length, as gunicorn hands a chunked one to the app (wsgi.input_terminated)."""
    return client.post(
        path, input_stream=io.BytesIO(raw), content_type="application/json",
        headers={**headers, "Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True},
    )  # fmt: skip


def padded(body: object, size: int) -> bytes:
    """A JSON body of exactly `size` bytes (trailing spaces are JSON whitespace)."""
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


@pytest.mark.parametrize("path", ["/v1/motions", "/v1/motions/batch"])
def test_a_streamed_body_over_the_limit_is_413(client, auth, path):
    """A chunked body past MAX_BODY_BYTES: 413 naming the limit (Werkzeug cut it off and it read as broken JSON)."""
    body = VALID if path == "/v1/motions" else {"items": [VALID]}
    resp = post_streamed(client, path, padded(body, LIMIT + 10), auth)
    assert_answered(resp)
    assert resp.status_code == 413 and str(LIMIT) in resp.get_json()["detail"]
    assert client.get("/v1/motions", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize("path", ["/v1/motions", "/v1/motions/batch"])
def test_a_streamed_body_at_the_limit_is_read_whole(client, auth, path):
    """A chunked body of exactly MAX_BODY_BYTES is not too large: accepted like a sized one."""
    body = VALID if path == "/v1/motions" else {"items": [VALID]}
    resp = post_streamed(client, path, padded(body, LIMIT), auth)
    assert resp.status_code in (200, 202), resp.get_json()


def test_a_streamed_webhook_over_the_limit_is_413(client):
    """A chunked webhook past the limit: 413, not a 401 for a signature over bytes cut short."""
    raw = padded({"event_id": "e", "event": "generated_motion_success", "data": {"motion_id": "m"}}, LIMIT + 1)
    resp = post_streamed(client, "/webhooks/jogg", raw, {"X-Webhook-Signature": sign(raw)})
    assert_answered(resp)
    assert resp.status_code == 413


def test_a_keyed_batch_with_a_lone_surrogate_item_is_answered_and_replayed(client, auth):
    """An Idempotency-Key on a batch whose item holds a lone surrogate: 200 (that item 422), the same again replays.

    The key's request fingerprint hashed the body as UTF-8, which a lone surrogate cannot be: 500.
    """
    bad = json.dumps({**VALID, "name": "x"}).replace('"x"', '"\\udcff"')
    raw = '{"items": [' + json.dumps(VALID) + ", " + bad + "]}"
    headers = {**auth, "Idempotency-Key": "batch-with-a-surrogate"}
    first = client.post("/v1/motions/batch", data=raw, content_type="application/json", headers=headers)
    assert first.status_code == 200, first.data
    assert [item["status"] for item in first.get_json()["items"]] == [202, 422]
    assert "name" in first.get_json()["items"][1]["problem"]["errors"]
    again = client.post("/v1/motions/batch", data=raw, content_type="application/json", headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.data == first.data


def run(app, *args: str):
    """`flask <args>` in-process: a clean exit, never an unhandled exception."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.mark.parametrize("credits", ["2147483648", "9223372036854775808", "1" + "0" * 30])
def test_a_quota_past_the_column_is_refused_with_exit_2(app, session, credits):
    """set-quota --credits past 2**31 - 1 (callers.quota_credits is 32-bit): exit 2, nothing stored.

    SQLite raised OverflowError past 2**63 and PostgreSQL 'integer out of range' past 2**31: a traceback.
    """
    run(app, "callers", "create", "capped")
    result = run(app, "callers", "set-quota", "capped", "--credits", credits, "--per", "day")
    assert result.exit_code == 2 and "2147483647" in result.output, result.output
    assert session.query(Caller).filter_by(name="capped").one().quota_credits is None


def test_the_largest_quota_is_stored(app, session):
    """--credits 2147483647 is stored and read back."""
    run(app, "callers", "create", "capped")
    assert run(app, "callers", "set-quota", "capped", "--credits", "2147483647", "--per", "month").exit_code == 0
    assert session.query(Caller).filter_by(name="capped").one().quota_credits == 2**31 - 1
