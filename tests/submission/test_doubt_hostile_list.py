"""Hostile or broken answers from JoggAI's photo-avatar list while a submission is in doubt."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import doubt
from app.extensions import db
from app.jogg import JoggClient
from app.models import Motion, MotionEvent
from app.models.types import utcnow

LIST = "/v2/avatars/photo_avatars"
HUGE = 2**40  # past a 32-bit column: an id JoggAI may well reach, or send to be rude


def in_doubt(session, motion_id: str) -> None:
    """POSTed with an empty list for its name before, its answer lost a second ago, no list read after."""
    motion = session.get(Motion, motion_id)
    motion.submit_started_at = motion.submission_uncertain_at = utcnow() - timedelta(seconds=1)
    motion.submit_attempts, motion.submission_evidence = 1, {"list_before": []}
    session.commit()


def look(in_app, client: JoggClient, motion_id: str, grace: float = 600) -> str:
    """One look at the motion, with this client, as the resolve_doubts job makes it."""
    rules = doubt.DoubtPolicy("resubmit", grace=grace, max_attempts=5, intervals=(1,))
    return in_app(lambda: doubt.resolve(db.session, motion_id, client, rules))


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


@pytest.fixture
def rude_jogg(httpserver) -> JoggClient:
    """A client for a JoggAI whose answers the test writes."""
    return JoggClient(httpserver.url_for("/").rstrip("/"), "rude-key", connect_timeout=1, read_timeout=2)


def test_a_new_entry_with_a_huge_id_among_junk_is_found(httpserver, rude_jogg, make_motions, session, in_app):
    """Junk entries are skipped; a completed entry whose id does not fit the column completes the motion anyway."""
    _, (motion_id,) = make_motions(1, name="rude")
    in_doubt(session, motion_id)
    junk = [{"id": True, "name": "rude"}, {"name": "rude", "status": 1}, {"id": 7, "name": "RUDE"}, "not an entry"]
    avatars = [*junk, {"id": HUGE, "name": "rude", "status": 1}, {"id": HUGE, "name": "rude", "status": 1}]
    httpserver.expect_request(LIST).respond_with_json({"code": 0, "msg": "ok", "data": {"avatars": avatars}})

    assert look(in_app, rude_jogg, motion_id) == doubt.DoubtOutcome.FOUND
    motion = reload(session, motion_id)
    assert motion.status == "completed" and str(motion.submission_evidence["claimed"]) == str(HUGE)
    assert motion.avatar_id is None  # the id is kept in the evidence, where the list's later reads match it


@pytest.mark.parametrize(
    "answer",
    [
        {"code": 0, "msg": "ok", "data": {"avatars": {"id": 1, "name": "rude"}}},  # no list inside
        {"code": 0, "msg": "ok", "data": None},
        {"code": 50000, "msg": "system error", "data": None},
        {"code": 0, "msg": "ok", "data": {"avatars": [{"id": n, "name": "other"} for n in range(100)], "total": 10**6}},
    ],
    ids=["no-list", "no-data", "error", "endless"],
)
def test_an_unreadable_list_is_no_evidence_of_absence(httpserver, rude_jogg, make_motions, session, in_app, answer):
    """A list that cannot be read, or never ends, says nothing: look again; at the grace's end the history says so."""
    _, (motion_id,) = make_motions(1, name="rude")
    in_doubt(session, motion_id)
    httpserver.expect_request(LIST).respond_with_json(answer)
    assert look(in_app, rude_jogg, motion_id) == doubt.DoubtOutcome.WAITING
    assert "list_after" not in reload(session, motion_id).submission_evidence  # no window closed on it

    assert look(in_app, rude_jogg, motion_id, grace=0) == doubt.DoubtOutcome.RESUBMITTED
    stmt = select(MotionEvent.detail).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id.desc())
    assert session.scalars(stmt).first()["evidence"]["verdict"] == "unreadable"
