"""Attacks on resolving submissions in doubt: two looks at one motion at once, a stale look, a look killed midway."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import jobs, jogg_connection
from app.domain import doubt
from app.extensions import db
from app.models import Motion, MotionEvent, Status
from app.models.types import utcnow
from tests.jogg_fixtures import MOTION, sandbox_stats

RULES = doubt.DoubtPolicy("resubmit", grace=600, max_attempts=5, intervals=(1,))


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def history(session, motion_id) -> list[MotionEvent]:
    """Its history rows, oldest first."""
    stmt = select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def flag_in_doubt(session, motion_id: str, attempts: int = 1, ago: float = 1.0) -> None:
    """As the clock flags an interrupted submission: in doubt, the list read before the POST, none read after."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    motion.submit_started_at = motion.submission_uncertain_at = utcnow() - timedelta(seconds=ago)
    motion.submit_attempts, motion.submission_evidence = attempts, {"list_before": []}
    session.commit()


def resolve_once(motion_id: str) -> str:
    """One look at the motion, as the resolve_doubts job makes it (run inside the app)."""
    return doubt.resolve(db.session, motion_id, jogg_connection.jogg_client(), RULES)


def test_a_look_read_before_the_doubt_began_again_is_not_applied(
    make_motions, jogg_app, sandbox, session, in_app, monkeypatch
):
    """Resubmitted and lost again while a slow look was reading: its old reading must not close the new window."""
    _, (motion_id,) = make_motions(1, name="stale-look")
    flag_in_doubt(session, motion_id, ago=30)
    real_read = doubt.read

    def slow_read(client, name, unlearned):
        reading = real_read(client, name, unlearned)  # nothing of that name yet
        flag_in_doubt(session, motion_id, attempts=2)  # meanwhile: resubmitted, POSTed, its answer lost again
        client.add_motion(**{**MOTION, "name": name})  # and that re-POST did reach JoggAI
        return reading

    monkeypatch.setattr(doubt, "read", slow_read)
    assert in_app(resolve_once, motion_id) == doubt.DoubtOutcome.SETTLED
    assert "list_after" not in reload(session, motion_id).submission_evidence  # the new window is still open

    monkeypatch.setattr(doubt, "read", real_read)
    assert in_app(resolve_once, motion_id) == doubt.DoubtOutcome.FOUND  # the next look sees the re-POST's avatar
    assert reload(session, motion_id).status == Status.PROCESSING
    assert sandbox_stats(sandbox)["motions_created_by_name"] == {"stale-look": 1}


def test_two_looks_at_one_motion_at_once_decide_once(make_motions, jogg_app, sandbox, session, in_app, monkeypatch):
    """Two doubt jobs (two clocks, or one judged dead) read together, then race for the motion: one claims it."""
    _, (motion_id,) = make_motions(1, name="two-looks")
    flag_in_doubt(session, motion_id)
    jogg_app.extensions["jogg_client"].add_motion(**{**MOTION, "name": "two-looks"})  # the answer was lost
    both_read, real_read = threading.Barrier(2, timeout=30), doubt.read

    def read_together(client, name, unlearned):
        reading = real_read(client, name, unlearned)
        both_read.wait()  # both jobs hold a reading and no lock: now they race
        return reading

    monkeypatch.setattr(doubt, "read", read_together)
    outcomes: list = []

    def look() -> None:
        try:
            outcomes.append(in_app(resolve_once, motion_id))
        except OperationalError as exc:  # SQLite only: the loser's stale snapshot cannot write
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=look) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(map(str, outcomes))[0] == doubt.DoubtOutcome.FOUND and len(outcomes) == 2
    assert outcomes.count(doubt.DoubtOutcome.FOUND) == 1
    moves = [(row.from_status, row.to_status) for row in history(session, motion_id)]
    assert moves.count(("queued", "processing")) == 1
    assert reload(session, motion_id).status == Status.PROCESSING


class Killed(BaseException):
    """Stands for the worker's death (SIGKILL): nothing after it runs, the transaction is never committed."""


def test_a_look_killed_before_its_commit_leaves_the_motion_in_doubt(
    make_motions, jogg_app, sandbox, session, in_app, monkeypatch
):
    """The job dies after deciding, before committing: nothing is kept, and the next look decides the same, once."""
    _, (motion_id,) = make_motions(1, name="killed-look")
    flag_in_doubt(session, motion_id)
    jogg_app.extensions["jogg_client"].add_motion(**{**MOTION, "name": "killed-look"})
    real_decide = doubt.decide

    def decide_then_die(*args):
        real_decide(*args)
        raise Killed

    monkeypatch.setattr(doubt, "decide", decide_then_die)
    with pytest.raises(Killed):
        in_app(jobs.resolve_doubts)
    motion = reload(session, motion_id)
    assert motion.status == Status.QUEUED and motion.submission_uncertain_at is not None
    assert [row.to_status for row in history(session, motion_id)] == ["queued"]

    monkeypatch.setattr(doubt, "decide", real_decide)
    assert in_app(jobs.resolve_doubts) == {doubt.DoubtOutcome.FOUND: 1}
    assert [row.to_status for row in history(session, motion_id)] == ["queued", "processing"]
    assert sandbox_stats(sandbox)["add_motion_calls"] == 1
