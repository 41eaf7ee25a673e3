"""Regression tests for issue 11's findings 1-5 and 11: each answered 500 (or loaded the database) before the fix."""

import base64
import json

import pytest
from sqlalchemy import select

from app.domain import jogg_webhooks
from app.models import JoggEvent
from tests.hostile.conftest import VALID, assert_answered, assert_field_refused, sign, statements

NUL = "\x00"


def cursor_of(at: str, motion_id: str) -> str:
    """A cursor in the service's own format, pointing at a crafted position."""
    return base64.urlsafe_b64encode(json.dumps([at, motion_id]).encode()).decode().rstrip("=")


def post_raw(client, auth, raw: str | bytes):
    """POST a raw JSON text as a motion."""
    return client.post("/v1/motions", data=raw, content_type="application/json", headers=auth)


def nested(levels: int, leaf=1):
    """A value with `levels` objects inside one another (a scalar leaf is level 0)."""
    value = leaf
    for _ in range(levels):
        value = {"k": value}
    return value


# Finding 1: NUL (U+0000) in the path, the query, a cursor, body fields, metadata keys and values, a header.


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/motions/mot_%00"),
        ("get", "/v1/motions/mot_%00/events"),
        ("get", "/v1/motions/mot_%00/deliveries"),
        ("post", "/v1/motions/mot_%00/cancel"),
        ("post", "/v1/motions/mot_%00/retry"),
    ],
)
def test_nul_in_a_motion_id_is_422_naming_it(client, auth, method, path):
    """A motion id holding NUL: 422 naming motion_id."""
    assert_field_refused(getattr(client, method)(path, headers=auth), "motion_id")


def test_nul_in_a_delivery_id_is_422_naming_it(client, auth):
    """A delivery id holding NUL: 422 naming delivery_id."""
    assert_field_refused(client.post("/v1/deliveries/dlv_%00/redeliver", headers=auth), "delivery_id")


def test_nul_in_the_external_id_filter_is_422(client, auth):
    """?external_id= holding NUL: 422 naming external_id."""
    assert_field_refused(client.get("/v1/motions?external_id=a%00b", headers=auth), "external_id")


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of("2026-01-01T00:00:00+00:00", "mot_\x00"),
        cursor_of("2026-01-01T00:00:00", "mot_1"),  # no zone: not one we issue
        cursor_of("0001-01-01T00:00:00+05:00", "mot_1"),  # before year 1 in UTC
        base64.urlsafe_b64encode(b"[" * 3000).decode(),  # deep enough to crash a recursive parser
    ],
    ids=["nul-id", "naive", "out-of-range", "deep"],
)
def test_a_crafted_cursor_is_422(client, auth, cursor):
    """A cursor we did not issue (decoding to NUL, no zone, out of range, deeply nested): 422 naming cursor."""
    assert_field_refused(client.get(f"/v1/motions?cursor={cursor}", headers=auth), "cursor")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VALID, "name": "A\x00nn"}, "name"),
        ({**VALID, "external_id": "\x00"}, "external_id"),
        ({**VALID, "metadata": {"ke\x00y": 1}}, "metadata"),
        ({**VALID, "metadata": {"key": "va\x00lue"}}, "metadata.key"),
        ({**VALID, "metadata": {"a": [{"b": "\x00"}]}}, "metadata.a[0].b"),
        ({**VALID, "metadata": {"a": {"b\x00": True}}}, "metadata.a"),
        ({**VALID, "meta\x00data": {}}, "body"),
    ],
    ids=["name", "external_id", "metadata-key", "metadata-value", "nested-value", "nested-key", "top-level-key"],
)
def test_nul_in_the_body_is_422_naming_the_field(client, auth, body, field):
    """NUL in a body string or an object key: 422 naming where it is; nothing stored."""
    assert_field_refused(client.post("/v1/motions", json=body, headers=auth), field)
    assert client.get("/v1/motions", headers=auth).get_json()["items"] == []


def test_nul_in_the_idempotency_key_is_422(client, auth):
    """An Idempotency-Key holding NUL: 422 naming the header."""
    resp = client.post("/v1/motions", json=VALID, headers={**auth, "Idempotency-Key": "k\x00"})
    assert_field_refused(resp, "Idempotency-Key")


def test_lone_surrogates_in_the_body_are_422(client, auth):
    """A JSON escape for half a surrogate pair cannot be stored as UTF-8 text: 422 naming the field."""
    raw = json.dumps({**VALID, "name": "x"}).replace('"x"', '"\\ud800"')
    assert_field_refused(post_raw(client, auth, raw), "name")


def test_other_control_characters_are_stored_intact(client, auth):
    """Control characters other than NUL are storable: accepted and read back byte for byte."""
    text = "".join(chr(c) for c in range(1, 32)) + "\x7f\x85\u2028"
    body = {**VALID, "name": text, "metadata": {text: text}}
    created = client.post("/v1/motions", json=body, headers=auth)
    assert created.status_code == 202, created.get_json()
    read = client.get(f"/v1/motions/{created.get_json()['id']}", headers=auth).get_json()
    assert (read["name"], read["metadata"]) == (text, {text: text})


# Finding 2: metadata nested 1000+ levels deep (a 10 KB valid body).


def test_a_body_nested_1000_deep_is_400(client, auth):
    """A small body nested far deeper than 64 levels: 400, not a RecursionError."""
    raw = '{"metadata": ' + '{"k": ' * 1000 + "1" + "}" * 1001
    assert len(raw) < 10_000
    resp = post_raw(client, auth, raw)
    assert_answered(resp)
    assert resp.status_code == 400 and "64" in resp.get_json()["detail"]


def test_body_nesting_is_limited_at_64_levels(client, auth):
    """64 levels of body are read (then metadata's own limit applies); 65 are refused as malformed."""
    assert_field_refused(client.post("/v1/motions", json={**VALID, "metadata": nested(63)}, headers=auth), "metadata")
    resp = client.post("/v1/motions", json={**VALID, "metadata": nested(64)}, headers=auth)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


def test_metadata_nesting_is_limited_at_16_levels(client, auth):
    """metadata itself is level 1: 16 levels are accepted and read back, 17 are a 422 naming metadata."""
    deep_ok = nested(15, leaf=[])  # 15 objects and an array
    created = client.post("/v1/motions", json={**VALID, "metadata": deep_ok}, headers=auth)
    assert created.status_code == 202, created.get_json()
    assert created.get_json()["metadata"] == deep_ok
    assert_field_refused(client.post("/v1/motions", json={**VALID, "metadata": nested(17)}, headers=auth), "metadata")


# Finding 3: NaN, Infinity, -Infinity and 1e999 are not JSON.


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
@pytest.mark.parametrize("place", ["metadata", "field"])
def test_non_finite_numbers_are_400(client, auth, number, place):
    """A number JSON cannot carry, in metadata or as a field's value: 400 malformed JSON."""
    body = json.dumps({**VALID, "metadata": {"n": "N"}} if place == "metadata" else {**VALID, "priority": "N"})
    resp = post_raw(client, auth, body.replace('"N"', number))
    assert_answered(resp)
    assert resp.status_code == 400 and resp.get_json()["type"].endswith("malformed-json")


def test_an_integer_too_long_for_python_is_400(client, auth):
    """An integer over Python's 4300-digit conversion limit: 400, not a ValueError."""
    resp = post_raw(client, auth, json.dumps({**VALID, "metadata": {"n": "N"}}).replace('"N"', "9" * 5000))
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


# Finding 4: a non-ASCII X-Webhook-Signature made hmac.compare_digest raise.

RAW = json.dumps({"event_id": "evt-1", "event": "generated_motion_success", "data": {"motion_id": "jm-1"}}).encode()


def post_webhook(client, raw: bytes, signature: str | None, event: str = "generated_motion_success"):
    """Send a webhook as JoggAI would."""
    headers = {"X-Webhook-Event": event}
    if signature is not None:
        headers["X-Webhook-Signature"] = signature
    return client.post("/webhooks/jogg", data=raw, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    "signature",
    ["é" * 64, "\xff" * 64, "\x00" * 64, sign(RAW)[:-1] + "é", sign(RAW) + "\x00", "g" * 64, " " * 64, "é" * 5000],
    ids=["e-acute", "0xff", "nul", "last-non-ascii", "nul-suffix", "non-hex", "spaces", "long"],
)
def test_odd_signature_bytes_are_401(client, session, signature):
    """Non-ASCII, NUL, non-hex or over-long signatures: 401 problem, nothing stored."""
    resp = post_webhook(client, RAW, signature)
    assert_answered(resp)
    assert resp.status_code == 401
    assert session.scalars(select(JoggEvent)).all() == []


# Finding 5: a correctly signed webhook whose fields hold NUL bytes.


def test_signed_webhook_with_nul_fields_is_stored_safely(client, session):
    """NUL in event, event_id and motion id (and the event header): 200, raw body kept, fields without NUL."""
    raw = json.dumps(
        {"event_id": "evt\x00-9", "event": "generated_motion_\x00success", "data": {"motion_id": "jm\x00-9"}}
    ).encode()
    resp = post_webhook(client, raw, sign(raw), event="generated\x00")
    assert resp.status_code == 200, resp.data
    stored = session.scalars(select(JoggEvent)).one()
    assert (stored.event, stored.event_id, stored.jogg_motion_id, stored.raw_body) == (
        "generated_motion_success", "evt-9", "jm-9", raw,
    )  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id": "\\ud800", "event": "generated_motion_success", "data": {"motion_id": "\\udfff"}}',
        b'{"event_id": "\\u0000", "event": "\\u0000", "data": {"motion_id": "\\u0000"}}',
        b'{"event_id": {"a": 1}, "event": ["x"], "data": {"motion_id": 12}}',
        b'{"data": ' * 5000 + b"1" + b"}" * 5000,
        b'{"event_id": NaN, "event": Infinity, "data": {"motion_id": 1e999}}',
        b"\xff\xfe\x00\x00",
    ],
    ids=["surrogates", "only-nul", "wrong-types", "deep", "non-finite", "not-utf8"],
)
def test_any_signed_body_is_acknowledged(client, session, raw):
    """Whatever JoggAI's key signs is acknowledged (200) and kept raw; nothing it holds causes a 5xx."""
    resp = post_webhook(client, raw, sign(raw))
    assert resp.status_code == 200, resp.data
    assert session.scalars(select(JoggEvent)).one().raw_body == raw


# Finding 11: a bad signature forced a fresh read of the registered secrets every time.


def test_bad_signatures_read_the_registered_secrets_at_most_once(client, engine, monkeypatch):
    """200 forged webhooks cost at most one read of jogg_account (they are refused from the 10 s cache)."""
    monkeypatch.setattr(jogg_webhooks, "_registered", (float("-inf"), None, ()))
    with statements(engine) as seen:
        for attempt in range(200):
            assert post_webhook(client, RAW, sign(RAW, f"forged-{attempt}")).status_code == 401
    assert sum("jogg_account" in statement for statement in seen) <= 1
