"""JoggClient's happy paths against the sandbox: motions, status, credits and endpoints."""

import time

from app.jogg import AddMotionResult, JoggClient, MotionStatus
from tests.jogg.conftest import MOTION


def wait_until_finished(client, motion_id, timeout=3.0):
    """Poll the status until the motion stops running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.motion_status(motion_id)
        if not status.is_running():
            return status
        time.sleep(0.05)
    raise AssertionError("motion never finished")


def test_add_motion_returns_the_motion_id_and_pending(start_jogg):
    """add_motion gives an AddMotionResult; v2 has no avatar_id yet."""
    client, _ = start_jogg()
    result = client.add_motion(**MOTION)
    assert isinstance(result, AddMotionResult)
    assert result.motion_id and result.status == "pending" and result.avatar_id is None


def test_add_motion_reads_the_v1_avatar_id(start_jogg):
    """The v1 answer shape with avatar_id is read too."""
    client, _ = start_jogg(v1_response=True)
    assert isinstance(client.add_motion(**MOTION).avatar_id, int)


def test_optional_fields_left_none_are_not_sent(start_jogg):
    """None optionals are left out of the body, so JoggAI never sees nulls."""
    client, _ = start_jogg()
    assert client.add_motion(**MOTION, description=None, photo_id=None).motion_id


def test_a_running_then_completed_motion(start_jogg):
    """The status is running at first, then success with a preview URL."""
    client, _ = start_jogg()
    motion_id = client.add_motion(**MOTION).motion_id
    first = client.motion_status(motion_id)
    assert isinstance(first, MotionStatus) and first.is_running() and first.status == "pending"
    done = wait_until_finished(client, motion_id)
    assert done.is_success() and not done.is_failure()
    assert done.preview_url.endswith(".mp4") and isinstance(done.avatar_id, int)
    assert done.raw["motion_id"] == motion_id and done.error_msg is None


def test_a_failed_motion_in_both_vocabularies(start_jogg):
    """failed (v2) and error (v1) are both failures, with the error message."""
    for vocabulary in ("v2", "v1"):
        client, _ = start_jogg(failure_rate=1.0, status_vocabulary=vocabulary)
        done = wait_until_finished(client, client.add_motion(**MOTION).motion_id)
        assert done.is_failure() and done.status in {"failed", "error"} and done.error_msg


def test_unknown_statuses_count_as_running():
    """A status JoggAI might add later is treated as still running."""
    status = MotionStatus.from_data({"status": "queued_for_gpu"}, "m1")
    assert status.is_running() and not status.is_success() and not status.is_failure()


def test_lenient_reading_of_status_data():
    """preview_url and error.message are accepted as alternatives; avatar_id may be a digit string."""
    status = MotionStatus.from_data(
        {"status": "FAILED", "avatar_id": "42", "preview_url": "https://x/y.mp4", "error": {"message": "no face"}},
        "m1",
    )
    assert (status.motion_id, status.avatar_id, status.preview_url) == ("m1", 42, "https://x/y.mp4")
    assert status.is_failure() and status.error_msg == "no face"


def test_remaining_quota_is_an_int(start_jogg):
    """remaining_quota returns the balance, which motions reduce."""
    client, _ = start_jogg(credits=50)
    client.add_motion(**{**MOTION, "model": "2.0-Pro"})
    assert client.remaining_quota() == 47


def test_endpoint_create_list_delete(start_jogg):
    """create_endpoint returns the id and the secret; the list shows it too; delete removes it."""
    client, _ = start_jogg()
    endpoint = client.create_endpoint("https://example.com/hook", ["generated_motion_success"])
    assert endpoint.endpoint_id and endpoint.secret and endpoint.status == "enabled"
    assert endpoint.secret not in repr(endpoint)
    [listed] = client.list_endpoints()
    assert listed.endpoint_id == endpoint.endpoint_id and listed.secret == endpoint.secret
    client.delete_endpoint(endpoint.endpoint_id)
    assert client.list_endpoints() == []


def test_the_client_repr_hides_the_key():
    """repr(JoggClient) shows the base URL only."""
    client = JoggClient("http://127.0.0.1:1", "secret-key-123")
    assert "secret-key-123" not in repr(client) and "127.0.0.1" in repr(client)
