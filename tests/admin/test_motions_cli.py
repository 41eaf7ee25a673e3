"""`flask motions show|requeue|fail`: JSON out, domain refusals as clean errors."""

import json

from sqlalchemy import select

from app.models import Motion, MotionEvent, Status


def last_event(session, motion_id: str) -> MotionEvent:
    """The motion's latest status change, as committed."""
    session.rollback()
    stmt = select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id.desc()).limit(1)
    return session.scalars(stmt).one()


def test_show_prints_json(cli, motion_in):
    """show prints the motion and its history as one JSON document."""
    motion = motion_in(Status.COMPLETED)
    result = cli("motions", "show", motion.id)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["motion"]["status"] == "completed"
    assert [e["to_status"] for e in shown["events"]] == ["queued", "processing", "completed"]


def test_show_unknown_is_a_clean_error(cli):
    """An unknown id exits non-zero with a message, not a traceback."""
    result = cli("motions", "show", "mot_missing")
    assert result.exit_code == 1 and "no motion 'mot_missing'" in result.output


def test_requeue_a_failed_motion(cli, session, motion_in):
    """requeue puts a failed motion back to queued, recorded as the operator's with the reason."""
    motion = motion_in(Status.FAILED)
    result = cli("motions", "requeue", motion.id, "--reason", "JoggAI fixed it")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"motion_id": motion.id, "status": "queued"}
    event = last_event(session, motion.id)
    assert (event.source, event.to_status, event.detail["reason"]) == ("operator", "queued", "JoggAI fixed it")


def test_requeue_a_completed_motion_is_refused(cli, session, motion_in):
    """requeue of a completed motion exits 1 with the state machine's message and changes nothing."""
    motion = motion_in(Status.COMPLETED)
    result = cli("motions", "requeue", motion.id)
    assert result.exit_code == 1
    assert "cannot go from completed to queued" in result.output and "Traceback" not in result.output
    assert session.get(Motion, motion.id, populate_existing=True).status == Status.COMPLETED


def test_fail_needs_a_reason_and_records_it(cli, session, motion_in):
    """fail without --reason is a usage error; with one the motion fails with the operator's error."""
    motion = motion_in(Status.PROCESSING)
    assert cli("motions", "fail", motion.id).exit_code == 2
    result = cli("motions", "fail", motion.id, "--reason", "stuck")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["error"]["code"] == "failed_by_operator"
    event = last_event(session, motion.id)
    assert (event.source, event.from_status, event.to_status) == ("operator", "processing", "failed")


def test_fail_a_cancelled_motion_is_refused(cli, motion_in):
    """fail of a cancelled motion is a clean error."""
    motion = motion_in(Status.CANCELLED)
    result = cli("motions", "fail", motion.id, "--reason", "x")
    assert result.exit_code == 1 and "cannot go from cancelled to failed" in result.output
