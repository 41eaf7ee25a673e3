"""Submissions in doubt with real worker and clock processes, with and without JoggAI listing add_motion's avatars.

Whether JoggAI's photo-avatar list shows avatars made by add_motion is unconfirmed: the design must work both ways.
"""

import pytest
from sqlalchemy import select

from app.models import Motion, MotionEvent
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until

GRACE, POLL, MAKING = 3.0, 1.0, 0.5  # seconds: UNCERTAIN_GRACE, POLL_INTERVALS, the sandbox's motion_seconds
FAST = {"UNCERTAIN_GRACE": "3", "JOGG_READ_TIMEOUT": "1", "POLL_INTERVALS": "1"}
SLACK = 6.0  # the clock's 1 s cadence, the re-POST's dispatch, and a 2-core machine shared with other runs


def history(session, motion_id) -> list[MotionEvent]:
    """Its history rows, oldest first."""
    stmt = select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def completed(session, motion_id) -> Motion | None:
    """The motion once completed."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    return motion if motion.status == "completed" else None


@pytest.mark.parametrize("listed", [True, False], ids=["listed", "unlisted"])
def test_a_post_lost_before_creating_completes_within_the_grace_and_a_poll(
    make_motions, live_app, sandbox, session, processes, listed
):
    """Done-when (1), timed: resubmitted at the grace's end, then completed within a poll; JoggAI created it once."""
    sandbox_config(sandbox, hang_before_rate=1.0, hang_seconds=1.5, motion_seconds=MAKING, list_motion_avatars=listed)
    _, (motion_id,) = make_motions(1, name=f"lost-before-{listed}")
    procs = processes(**FAST)
    procs.start("worker")
    procs.start("clock")
    wait_until(lambda: sandbox_stats(sandbox)["hangs_before_create"] == 1, timeout=30)
    sandbox_config(sandbox, hang_before_rate=0.0)
    motion = wait_until(lambda: completed(session, motion_id), timeout=60, interval=0.2)

    rows = history(session, motion_id)
    doubt_began = next(row.at for row in rows if (row.detail or {}).get("action") == "submission in doubt")
    took = (motion.completed_at - doubt_began).total_seconds()
    print(f"completed {took:.1f} s after the doubt began (grace {GRACE} s, poll {POLL} s)")
    assert took <= GRACE + POLL + MAKING + SLACK, took
    stats = sandbox_stats(sandbox)
    assert stats["motions_created_by_name"] == {motion.name: 1} and stats["add_motion_calls_by_name"][motion.name] == 2
    resubmitted = next(row.detail for row in rows if (row.detail or {}).get("action") == "resubmitted")
    assert resubmitted["evidence"]["verdict"] == "none" and motion.credits == 2


def test_unlisted_an_answer_lost_after_creating_is_adopted_by_its_webhook(
    make_motions, live_app, sandbox, session, processes
):
    """The list never shows add_motion's avatars: JoggAI's webhook is the evidence, and there is no second POST."""
    sandbox_config(sandbox, drop_after_create_rate=1.0, motion_seconds=MAKING, list_motion_avatars=False)
    _, (motion_id,) = make_motions(1, name="unlisted-dropped")
    procs = processes(**FAST)
    procs.start("worker")
    procs.start("clock")
    motion = wait_until(lambda: completed(session, motion_id), timeout=60, interval=0.2)

    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"unlisted-dropped": 1}
    assert motion.jogg_motion_id and motion.preview_url  # adopted by its webhook: JoggAI's own id and preview
    details = [row.detail or {} for row in history(session, motion_id)]
    assert any(d.get("adopted") and "webhook" in d.get("evidence", "") for d in details)
    assert not any(d.get("action") == "resubmitted" for d in details)
