"""The client against the real gateway over HTTP: creating, reading, listing, cancelling, and the API's errors."""

from datetime import UTC, datetime, timedelta

import pytest
from motion_gateway_client import (
    BadRequest,
    Client,
    ExternalIdTaken,
    IdempotencyMismatch,
    IllegalTransition,
    NotFound,
    Unauthorized,
    ValidationFailed,
    WaitTimedOut,
)

from tests.client.conftest import MOTION


def test_create_then_read_returns_the_typed_motion(gateway_client):
    """create_motion answers the queued Motion with every field typed; get_motion reads the same motion."""
    created = gateway_client.create_motion(
        **MOTION, metadata={"order": 42, "tags": ["a"]}, external_id="order-42", priority="high", callback_url=None
    )
    assert created.id.startswith("mot_") and created.status == "queued"
    assert created.metadata == {"order": 42, "tags": ["a"]} and created.callback_url is None
    assert created.priority == "high" and created.external_id == "order-42"
    assert created.created_at.tzinfo is not None and created.preview_url is None and created.error is None
    read = gateway_client.get_motion(created.id)
    assert read.id == created.id and read.status == "queued" and read.raw["name"] == MOTION["name"]


def test_same_idempotency_key_replays_the_first_motion(gateway_client):
    """A key given by the caller: the second call with the same body returns the first motion, makes no other."""
    first = gateway_client.create_motion(**MOTION, idempotency_key="order-7-attempt")
    again = gateway_client.create_motion(**MOTION, idempotency_key="order-7-attempt")
    assert again.id == first.id
    assert [m.id for m in gateway_client.list_motions()] == [first.id]
    with pytest.raises(IdempotencyMismatch) as caught:
        gateway_client.create_motion(**{**MOTION, "name": "another"}, idempotency_key="order-7-attempt")
    assert caught.value.status == 422 and caught.value.problem["type"].endswith("idempotencymismatch")


def test_each_call_gets_its_own_idempotency_key(gateway_client):
    """Without a key of the caller's, two calls are two requests: two motions."""
    first, second = gateway_client.create_motion(**MOTION), gateway_client.create_motion(**MOTION)
    assert first.id != second.id


def test_validation_errors_carry_each_field(gateway_client):
    """A bad request raises ValidationFailed with the per-field messages of the problem document."""
    with pytest.raises(ValidationFailed) as caught:
        gateway_client.create_motion(**{**MOTION, "model": "9.9", "image_url": "ftp://x"})
    error = caught.value
    assert set(error.errors) == {"model", "image_url"} and all(error.errors.values())
    assert error.status == 422 and error.type == "urn:motion-gateway:problem:validation"
    assert error.problem["errors"] == error.errors


def test_unknown_fields_through_extra_are_refused(gateway_client):
    """`extra` sends fields this client does not know; the API refuses unknown ones field by field."""
    with pytest.raises(ValidationFailed) as caught:
        gateway_client.create_motion(**MOTION, extra={"colour": "blue"})
    assert "colour" in caught.value.errors


def test_duplicate_external_id_names_the_existing_motion(gateway_client):
    """ExternalIdTaken (a Conflict) says which motion already has the external_id."""
    first = gateway_client.create_motion(**MOTION, external_id="invoice-1")
    with pytest.raises(ExternalIdTaken) as caught:
        gateway_client.create_motion(**MOTION, external_id="invoice-1")
    assert caught.value.motion_id == first.id and caught.value.status == 409


def test_unknown_motion_is_not_found(gateway_client):
    """NotFound for an id that does not exist, also one with characters that need escaping in a path."""
    for motion_id in ("mot_nope", "../motions", "a/b?c"):
        with pytest.raises(NotFound) as caught:
            gateway_client.get_motion(motion_id)
        assert caught.value.status == 404 and caught.value.problem["status"] == 404


def test_wrong_key_is_unauthorized(gateway):
    """Unauthorized (401) for a key the gateway does not know."""
    with Client(gateway, "mgw_not-a-key") as stranger, pytest.raises(Unauthorized) as caught:
        stranger.get_motion("mot_x")
    assert caught.value.type == "urn:motion-gateway:problem:unauthorized"


def test_another_callers_motion_is_not_found(gateway, gateway_client, new_caller):
    """A caller never sees another caller's motion."""
    motion = gateway_client.create_motion(**MOTION)
    with Client(gateway, new_caller().api_key) as other, pytest.raises(NotFound):
        other.get_motion(motion.id)


def test_cancel_then_retry_is_an_illegal_transition(gateway_client):
    """cancel moves a queued motion to cancelled; retry of a motion that did not fail is IllegalTransition."""
    motion = gateway_client.create_motion(**MOTION)
    cancelled = gateway_client.cancel(motion.id)
    assert cancelled.status == "cancelled" and cancelled.is_terminal
    with pytest.raises(IllegalTransition) as caught:
        gateway_client.retry(motion.id)
    assert caught.value.status == 409
    history = gateway_client.history(motion.id)
    assert [(row.from_status, row.to_status) for row in history] == [(None, "queued"), ("queued", "cancelled")]


def test_wait_gives_up_with_the_last_motion(gateway_client):
    """With no workers the motion stays queued: wait raises WaitTimedOut carrying it."""
    motion = gateway_client.create_motion(**MOTION)
    with pytest.raises(WaitTimedOut) as caught:
        gateway_client.wait(motion.id, timeout=1.0)
    assert caught.value.motion.id == motion.id and caught.value.motion.status == "queued"
    assert isinstance(caught.value, TimeoutError)


def test_wait_on_a_final_motion_answers_it(gateway_client):
    """A cancelled motion is final: wait returns it at once."""
    motion = gateway_client.create_motion(**MOTION)
    gateway_client.cancel(motion.id)
    assert gateway_client.wait(motion.id, timeout=5).status == "cancelled"


def test_list_filters_reach_the_api(gateway_client):
    """Filters by status, external_id and creation time select the matching motions."""
    kept = gateway_client.create_motion(**MOTION, external_id="keep")
    other = gateway_client.create_motion(**MOTION)
    gateway_client.cancel(other.id)
    assert [m.id for m in gateway_client.list_motions(status="queued")] == [kept.id]
    assert [m.id for m in gateway_client.list_motions(external_id="keep")] == [kept.id]
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert list(gateway_client.list_motions(created_after=later)) == []
    naive_later = later.replace(tzinfo=None)  # naive datetimes are taken as UTC
    assert {m.id for m in gateway_client.list_motions(created_before=naive_later)} == {kept.id, other.id}


def test_a_bad_filter_is_a_validation_error(gateway_client):
    """A status the API does not know: ValidationFailed naming the parameter."""
    with pytest.raises(ValidationFailed) as caught:
        list(gateway_client.list_motions(status="lost"))
    assert "status" in caught.value.errors


def test_a_body_over_the_limit_is_a_bad_request(gateway_client):
    """413 maps to BadRequest, its detail naming the limit."""
    with pytest.raises(BadRequest) as caught:
        gateway_client.create_motion(**MOTION, extra={"padding": "x" * 70_000})
    assert caught.value.status == 413 and "bytes" in caught.value.detail
