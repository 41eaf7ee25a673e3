"""Motions run for motion_seconds and end completed or failed, in either status vocabulary."""

import time


def test_a_motion_completes_after_motion_seconds(sandbox):
    """pending at first, completed after motion_seconds with an mp4 preview and no error."""
    started = time.monotonic()
    motion_id = sandbox.new_motion_id()
    assert sandbox.status(motion_id)["data"]["status"] == "pending"
    data = sandbox.wait_for_status(motion_id, {"completed", "failed"})
    assert time.monotonic() - started >= 0.2
    assert data["status"] == "completed" and data["error_msg"] is None
    assert data["motion_preview_url"].endswith(f"{motion_id}.mp4")


def test_a_motion_is_processing_in_the_middle(start_sandbox):
    """After the first fifth of its run a motion reads processing."""
    sandbox = start_sandbox(motion_seconds=1.0)
    motion_id = sandbox.new_motion_id()
    time.sleep(0.4)
    data = sandbox.status(motion_id)["data"]
    assert data["status"] == "processing" and data["motion_preview_url"] is None


def test_failure_rate_one_fails_every_motion(start_sandbox):
    """With failure_rate 1 the motion ends failed with an error_msg and no preview."""
    sandbox = start_sandbox(failure_rate=1.0)
    data = sandbox.wait_for_status(sandbox.new_motion_id(), {"completed", "failed"})
    assert data["status"] == "failed" and data["error_msg"]
    assert data["motion_preview_url"] is None


def test_v1_vocabulary_says_error_and_has_no_processing(start_sandbox):
    """status_vocabulary v1: pending while running, error instead of failed."""
    sandbox = start_sandbox(status_vocabulary="v1", failure_rate=1.0, motion_seconds=0.5)
    motion_id = sandbox.new_motion_id()
    time.sleep(0.25)
    assert sandbox.status(motion_id)["data"]["status"] == "pending"
    assert sandbox.wait_for_status(motion_id, {"error"})["status"] == "error"


def test_v1_vocabulary_still_says_completed(start_sandbox):
    """Success is completed in both vocabularies."""
    sandbox = start_sandbox(status_vocabulary="v1")
    assert sandbox.wait_for_status(sandbox.new_motion_id(), {"completed"})


def test_outcomes_are_deterministic_for_a_seed(start_sandbox):
    """Two sandboxes with the same seed and failure_rate fail the same motions."""

    def outcomes(seed):
        """The final statuses of 8 motions in a fresh sandbox seeded with `seed`."""
        sandbox = start_sandbox(failure_rate=0.5, seed=seed, motion_seconds=0.05)
        ids = [sandbox.new_motion_id(name=f"m{i}") for i in range(8)]
        return [sandbox.wait_for_status(i, {"completed", "failed"})["status"] for i in ids]

    first = outcomes(11)
    assert first == outcomes(11)
    assert set(first) == {"completed", "failed"}


def test_motion_seconds_change_applies_to_new_motions(start_sandbox):
    """Changing motion_seconds at run time affects motions started afterwards."""
    sandbox = start_sandbox(motion_seconds=30)
    sandbox.configure(motion_seconds=0.1)
    assert sandbox.wait_for_status(sandbox.new_motion_id(), {"completed"})
