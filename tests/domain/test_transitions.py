"""The state machine: every legal move works, every illegal one is refused and changes nothing."""

import itertools

import pytest
from rq import Queue
from sqlalchemy import func, select

from app import jobs, queues
from app.database import commit_step
from app.domain.errors import IllegalTransition
from app.domain.transitions import ALLOWED, can_move, transition
from app.models import Motion, MotionEvent, Source, Status
from app.models.motion import new_motion_id

LEGAL = {
    (None, Status.QUEUED),
    (Status.QUEUED, Status.PROCESSING),
    (Status.QUEUED, Status.CANCELLED),
    (Status.QUEUED, Status.FAILED),
    (Status.PROCESSING, Status.COMPLETED),
    (Status.PROCESSING, Status.FAILED),
    (Status.FAILED, Status.QUEUED),
}
ALL_MOVES = [(a, b) for a, b in itertools.product([None, *Status], list(Status))]


@pytest.fixture
def caller_id(make_caller):
    """A caller to own the motions."""
    return make_caller()[0]


def motion_in(session, caller_id, status: Status | None) -> Motion:
    """A committed motion sitting in the given status."""
    motion = Motion(
        id=new_motion_id(),
        caller_id=caller_id,
        image_url="https://i.example.com/a.png",
        name="n",
        voice_id="v",
        model="2.0",
        status=status,
    )
    if status is None:
        return motion  # a new motion, not yet in the session
    session.add(motion)
    session.commit()
    return motion


def test_table_matches_the_contract():
    """The allowed moves are exactly the contract's."""
    table = {(a, b) for a, targets in ALLOWED.items() for b in targets}
    assert table == LEGAL


@pytest.mark.parametrize(("current", "target"), sorted(set(ALL_MOVES) - LEGAL, key=str))
def test_illegal_moves_are_refused(session, caller_id, current, target):
    """Every move outside the table raises and writes no event."""
    motion = motion_in(session, caller_id, current)
    for source in Source:
        with pytest.raises(IllegalTransition):
            transition(session, motion, target, source)
    assert motion.status == current
    assert session.scalar(select(func.count()).select_from(MotionEvent)) == 0


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL - {(None, Status.QUEUED)}, key=str))
def test_legal_moves_write_an_event(session, caller_id, current, target):
    """A legal move changes the status and records from, to, source and detail."""
    motion = motion_in(session, caller_id, current)
    transition(session, motion, target, Source.OPERATOR, {"why": "test"})
    session.commit()
    event = session.scalars(select(MotionEvent)).one()
    assert (event.from_status, event.to_status, event.source, event.detail) == (
        current,
        target,
        "operator",  # the same string in the database as ever
        {"why": "test"},
    )
    assert session.get(Motion, motion.id, populate_existing=True).status == target


@pytest.mark.parametrize("source", [Source.WORKER, Source.WEBHOOK, Source.POLL])
def test_only_a_person_may_retry(session, caller_id, source):
    """failed -> queued is refused from automatic sources."""
    assert not can_move(Status.FAILED, Status.QUEUED, source)
    motion = motion_in(session, caller_id, Status.FAILED)
    with pytest.raises(IllegalTransition):
        transition(session, motion, Status.QUEUED, source)


def test_unknown_source_is_a_bug(session, caller_id):
    """A source outside the Source enum (the contract's list) is refused."""
    motion = motion_in(session, caller_id, Status.QUEUED)
    with pytest.raises(ValueError, match="unknown source"):
        transition(session, motion, Status.CANCELLED, "cron")


def test_queueing_asks_for_a_dispatch_after_commit(app, session, caller_id, redis_client):
    """Reaching queued asks for a dispatch (the motion is the record of the work), sent once committed."""
    motion = motion_in(session, caller_id, None)
    session.add(motion)
    transition(session, motion, Status.QUEUED, Source.API)
    assert Queue(queues.DEFAULT, connection=redis_client).count == 0
    with app.app_context():  # the nudge goes out through the app's Redis once committed
        commit_step(session)
    assert [job.func_name for job in Queue(queues.DEFAULT, connection=redis_client).jobs] == [
        queues.path_of(jobs.dispatch_now)
    ]


def test_source_values_are_the_contracts():
    """The history's source values, as stored and served, are the contract's five strings."""
    assert [source.value for source in Source] == ["api", "worker", "webhook", "poll", "operator", "preflight", "reuse"]


def test_terminal_timestamps(session, caller_id):
    """processing stamps submitted_at; completed stamps completed_at."""
    motion = motion_in(session, caller_id, Status.QUEUED)
    transition(session, motion, Status.PROCESSING, Source.WORKER)
    assert motion.submitted_at is not None and motion.completed_at is None
    transition(session, motion, Status.COMPLETED, Source.WEBHOOK)
    assert motion.completed_at >= motion.submitted_at


def test_a_retry_forgets_the_previous_submissions_evidence(session, caller_id):
    """failed -> queued clears the photo-avatar list evidence, so the next POST's window starts afresh."""
    motion = motion_in(session, caller_id, Status.FAILED)
    motion.submission_evidence = {"list_before": [1], "list_after": [1, 2], "claimed": 2}
    transition(session, motion, Status.QUEUED, Source.OPERATOR)
    assert motion.submission_evidence is None and motion.submit_attempts == 0
