"""Generated hostile input at every /v1 route: never a 5xx, errors as problems, accepted input reads back intact."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import VALID, assert_answered
from tests.hostile.strategies import (
    HOSTILE,
    deep_value,
    depth,
    dumps,
    header_value,
    hostile_text,
    json_value,
    non_finite,
    odd_character,
    same_json,
    unstorable,
    url_part,
)

FIELDS = [*VALID, "photo_id", "description", "welcome_msg", "callback_url", "metadata", "external_id", "priority"]
QUERY_NAMES = [
    "status", "external_id", "created_after", "created_before", "limit", "cursor", "wait", "after", "from", "to", "x",
]  # fmt: skip
BODY_LIMIT = 64 * 1024  # the test settings' MAX_BODY_BYTES
BODY_DEPTH = 64  # contract section 8
HEADER_NAMES = ["Idempotency-Key", "Accept", "Content-Type", "User-Agent", "X-Request-Id", "X-Forwarded-For"]


def v1_routes(app) -> list[tuple[str, str]]:
    """(method, rule) for every /v1 route of the app."""
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def post_motion(client, auth, raw: str | bytes, headers: dict | None = None):
    """POST a raw body as a motion."""
    return client.post("/v1/motions", data=raw, content_type="application/json", headers={**auth, **(headers or {})})


def expect_for(body: object, raw: str) -> int | None:
    """The status a body must get when a rule decides it (413 too big, 400 not JSON, 422 unstorable text), else None."""
    if len(raw.encode()) > BODY_LIMIT:
        return 413
    if non_finite(body) or depth(body) > BODY_DEPTH:
        return 400
    if unstorable(body):
        return 422
    return None


def assert_reads_back(client, auth, resp, sent: dict) -> None:
    """An accepted motion, read again from the database, holds every field exactly as sent."""
    read = client.get(resp.headers["Location"], headers=auth).get_json()
    for name, value in sent.items():
        assert same_json(value, read[name]), (name, value, read[name])


def check_motion(client, auth, body: dict) -> None:
    """POST the body; the answer follows the rules, and an accepted motion reads back intact."""
    raw = dumps(body)
    body = json.loads(raw)  # as the server reads it: an escaped surrogate pair is one character again
    resp = post_motion(client, auth, raw)
    assert_answered(resp)
    expected = expect_for(body, raw)
    assert expected is None or resp.status_code == expected, (resp.status_code, resp.get_json())
    if resp.status_code == 202:
        assert_reads_back(client, auth, resp, body)


@HOSTILE
@given(field=st.sampled_from([*FIELDS, "unknown", "meta\x00data"]), value=st.one_of(json_value, deep_value))
def test_any_value_in_any_field(client, auth, field, value):
    """Any JSON value (odd text, huge or non-finite numbers, wrong types, deep nesting) in any field of a motion."""
    check_motion(client, auth, {**VALID, field: value})


@HOSTILE
@given(metadata=st.one_of(st.dictionaries(hostile_text, json_value, max_size=6), deep_value.map(lambda v: {"d": v})))
def test_any_metadata(client, auth, metadata):
    """Metadata of any shape: accepted ones read back equal, key for key and number for number."""
    check_motion(client, auth, {**VALID, "metadata": metadata})


@HOSTILE
@given(text=hostile_text)
def test_any_text_in_the_text_fields(client, auth, text):
    """The same odd text in every free-text field at once: refused by a rule or stored exactly."""
    body = {**VALID, "name": text[:200], "photo_id": text[:255], "welcome_msg": text[:1000], "external_id": text[:255]}
    check_motion(client, auth, {key: value or "x" for key, value in body.items()})


@HOSTILE
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.builds(lambda depth: "[" * depth + "]" * depth, st.integers(60, 5000)),
        st.builds(lambda value: dumps({**VALID, "metadata": {"n": "N"}}).replace('"N"', value),
                  st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "1e-999", "-0", "0.1e1"])),
        st.builds(lambda text: dumps(VALID)[:text], st.integers(0, 80)),
        st.just("\ufeff" + dumps(VALID)),
    )
)  # fmt: skip
def test_any_raw_body(client, auth, raw):
    """Bytes that are not JSON, truncated JSON, deep brackets, non-finite numbers, a BOM: a 4xx problem or a motion."""
    assert_answered(post_motion(client, auth, raw))


@HOSTILE
@given(first=hostile_text, last=hostile_text.filter(lambda text: text.strip()))
def test_duplicate_keys_keep_the_last(client, auth, first, last):
    """A key given twice: the last value counts, as in any JSON parser, and an accepted motion holds it."""
    raw = dumps(VALID)[:-1] + f", {dumps('name')}: {dumps(first)}, {dumps('name')}: {dumps(last[:200])}" + "}"
    resp = post_motion(client, auth, raw)
    assert_answered(resp)
    if resp.status_code == 202:
        assert client.get(resp.headers["Location"], headers=auth).get_json()["name"] == last[:200]


@pytest.fixture
def routes(app):
    """Every /v1 route, as (method, rule)."""
    return v1_routes(app)


@HOSTILE
@given(route=st.integers(0, 100), segment=st.one_of(odd_character, hostile_text))
def test_any_path_parameter_at_every_route(client, auth, routes, route, segment):
    """Every /v1 route with an odd path parameter: NUL, control characters, surrogates, slashes, very long."""
    method, rule = routes[route % len(routes)]
    path = re.sub(r"<[^>]+>", lambda _: url_part(segment) or "x", rule)
    assert_answered(client.open(path, method=method, headers=auth))


@settings(HOSTILE, max_examples=200)
@given(
    path=st.sampled_from(["/v1/motions", "/v1/motions/{id}", "/v1/events", "/v1/usage"]),
    query=st.dictionaries(st.sampled_from(QUERY_NAMES), st.one_of(odd_character, hostile_text), min_size=1, max_size=2),
)
def test_any_query_at_every_reading_route(client, auth, motion_id, path, query):
    """The routes that read query parameters, with one or two odd ones (known to the route or not)."""
    query_string = "&".join(f"{url_part(name)}={url_part(text)}" for name, text in query.items())
    assert_answered(client.get(f"{path.format(id=motion_id)}?{query_string}", headers=auth))


@HOSTILE
@given(data=st.data(), headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_value, min_size=1))
def test_odd_headers_at_every_route(client, auth, motion_id, routes, data, headers):
    """Non-ASCII, NUL and very long header values on every /v1 route."""
    method, rule = data.draw(st.sampled_from(routes))
    path = re.sub(r"<[^>]+>", motion_id, rule)
    body = dumps(VALID) if method == "POST" else None
    assert_answered(client.open(path, method=method, data=body, headers={**auth, **headers}))


@HOSTILE
@given(key=header_value)
def test_any_idempotency_key(client, auth, key):
    """An odd Idempotency-Key is refused by a rule, or honoured: the same request again replays the same motion."""
    first = post_motion(client, auth, dumps(VALID), {"Idempotency-Key": key})
    assert_answered(first)
    if first.status_code == 202:
        again = post_motion(client, auth, dumps(VALID), {"Idempotency-Key": key})
        assert again.headers.get("Idempotent-Replayed") == "true" and again.data == first.data
