"""Reading what the network sends: Retry-After values, error bodies and resource documents, hostile ones too."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from motion_gateway_client import (
    ApiError,
    BadRequest,
    Conflict,
    ExternalIdTaken,
    IdempotencyInFlight,
    Motion,
    NotFound,
    QuotaExceeded,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from motion_gateway_client.batch import BatchResult
from motion_gateway_client.errors import error_for, retry_after_seconds
from motion_gateway_client.models import Delivery, Event, MalformedResource, Usage

FUZZ = settings(max_examples=300, derandomize=True, deadline=None)


def test_retry_after_in_seconds_or_as_a_date():
    """Delay-seconds, an HTTP date (seconds from now, never negative), or None for anything else."""
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    for junk in (None, "", "soon", "-5", "1.5", "²", "Wed, 99 Foo 2015"):
        assert retry_after_seconds(junk) is None


@FUZZ
@given(st.text(max_size=60))
def test_any_retry_after_header_reads_as_none_or_a_delay(value):
    """Whatever a server sends as Retry-After, the answer is None or a finite delay of at least 0."""
    delay = retry_after_seconds(value)
    assert delay is None or delay >= 0


@pytest.mark.parametrize(
    ("status", "slug", "expected"),
    [
        (401, "unauthorized", Unauthorized), (404, "notfound", NotFound), (404, None, NotFound),
        (409, "externalidtaken", ExternalIdTaken), (409, "idempotencyinflight", IdempotencyInFlight),
        (409, "something-new", Conflict), (422, "validation", ValidationFailed), (429, "quota-exceeded", QuotaExceeded),
        (400, "malformed-json", BadRequest), (413, "too-large", BadRequest), (415, None, BadRequest),
        (500, None, ServerError), (503, "database-unavailable", ServerError),
    ],
)  # fmt: skip
def test_each_problem_type_has_its_exception(status, slug, expected):
    """The problem's type picks the class; an unknown or missing type falls back on the status."""
    problem = {"type": f"urn:motion-gateway:problem:{slug}" if slug else "about:blank", "title": "t",
               "status": status, "detail": "d"}  # fmt: skip
    error = error_for(status, "", json.dumps(problem).encode(), {"Retry-After": "7"})
    assert type(error) is expected and error.problem == problem and error.status == status
    assert error.headers["retry-after"] == "7"


@FUZZ
@given(status=st.integers(min_value=400, max_value=599), content=st.binary(max_size=300), reason=st.text(max_size=20))
def test_any_error_body_becomes_an_api_error(status, content, reason):
    """Whatever the body of an error response, the client raises an ApiError whose problem has a status."""
    error = error_for(status, reason, content, {})
    assert isinstance(error, ApiError) and isinstance(error.problem["status"], int) and str(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


MOTION = {
    "id": "mot_1", "status": "queued", "image_url": "https://img.example.com/a.png", "name": "n", "voice_id": "v",
    "model": "2.0", "priority": "normal", "created_at": "2026-11-24T08:00:00+00:00",
    "updated_at": "2026-11-24T08:00:00Z", "error": None, "metadata": {"a": 1},
}  # fmt: skip


@FUZZ
@given(
    field=st.sampled_from([*MOTION, "avatar_id", "completed_at", "error", "credits", "reuse", "reused_from"]),
    value=json_values,
)
def test_a_motion_with_any_field_changed_reads_or_raises_malformed_resource(field, value):
    """A Motion document with one field replaced by any JSON value: a Motion keeping it raw, or MalformedResource."""
    document = {**MOTION, field: value}
    try:
        motion = Motion.from_dict(document)
    except MalformedResource as exc:
        assert repr(field) in str(exc) or field in ("error", "metadata")
    else:
        assert motion.raw == document and motion.id == document["id"]


@FUZZ
@given(json_values)
def test_any_json_is_a_resource_or_malformed(document):
    """Reading an Event or a Delivery from any JSON value never fails with another exception."""
    for resource in (Event, Delivery):
        with pytest.raises(MalformedResource):
            resource.from_dict(document)


USAGE = {
    "from": "2026-11-01", "to": "2026-11-30", "total_credits": 5, "total_motions": 2,
    "items": [{"day": "2026-11-24", "model": "2.0", "motions": 2, "credits": 5}],
    "quota": {"credits": 10, "period": "day", "used": 5, "reserved": 2, "resets_at": "2026-11-25T00:00:00+00:00"},
}  # fmt: skip


def test_a_batch_item_problem_becomes_its_exception_with_retry_after():
    """A refused item's problem is the exception it would raise alone; its retry_after reads as the header."""
    problem = {"type": "urn:motion-gateway:problem:quota-exceeded", "title": "t", "status": 429, "retry_after": 60}
    result = BatchResult.from_dict(3, {"status": 429, "problem": problem})
    assert (result.index, result.ok, result.motion) == (3, False, None)
    assert isinstance(result.error, QuotaExceeded) and result.error.retry_after == 60.0
    with pytest.raises(QuotaExceeded):
        result.unwrap()
    accepted = BatchResult.from_dict(0, {"status": 202, "motion": MOTION})
    assert accepted.ok and accepted.unwrap().id == "mot_1" and accepted.error is None


def test_usage_reads_every_field():
    """A usage document: days as dates, items and the quota typed, what is left of the quota."""
    usage = Usage.from_dict(USAGE)
    assert (usage.from_.day, usage.to.day, usage.total_credits, usage.items[0].credits) == (1, 30, 5, 5)
    assert usage.quota is not None and usage.quota.left == 3 and usage.quota.resets_at.tzinfo is not None


@FUZZ
@given(index=st.integers(min_value=0, max_value=99), document=json_values)
def test_any_batch_item_is_a_result_or_malformed(index, document):
    """Reading a batch entry from any JSON value: a result with a motion or an error, or MalformedResource."""
    try:
        result = BatchResult.from_dict(index, document)
    except MalformedResource:
        return
    assert result.index == index and (result.motion is None) != (result.error is None)


@FUZZ
@given(field=st.sampled_from([*USAGE, "quota.period", "quota.resets_at", "items.0"]), value=json_values)
def test_usage_with_any_field_changed_reads_or_raises_malformed_resource(field, value):
    """A usage document with one field replaced by any JSON value: a Usage, or MalformedResource."""
    document = json.loads(json.dumps(USAGE))
    *parents, last = field.split(".")
    target = document
    for name in parents:
        target = target[int(name)] if isinstance(target, list) else target[name]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    try:
        usage = Usage.from_dict(document)
    except MalformedResource:
        return
    assert usage.raw == document
