"""Recording verdicts: those finished together go in with one locking read, each motion as if alone."""

import threading

import pytest
from sqlalchemy import select

from app.domain import preflight as checks
from app.domain.preflight import PreflightOutcome, Verdict
from app.extensions import db
from app.models import Motion, MotionEvent, Status

PASS = Verdict(None, "passed")
REJECT = Verdict("image_rejected", "the image is 10x10 pixels; JoggAI needs at least 300x300")


def record(verdicts) -> list[PreflightOutcome]:
    """Verdicts recorded in one transaction of their own."""
    return checks.apply(db.session, verdicts)


def fresh(session, motion_id: str) -> Motion:
    """The motion as committed now."""
    return session.scalars(select(Motion).where(Motion.id == motion_id).execution_options(populate_existing=True)).one()


def test_verdicts_recorded_together_each_as_alone(make_motions, session, in_app):
    """Two pass (one instant each), one fails with its history row, a cancelled one and a checked one are skipped."""
    _, ids = make_motions(5)
    fresh(session, ids[3]).status = Status.CANCELLED
    session.commit()
    assert in_app(record, [(ids[4], PASS)]) == [PreflightOutcome.PASSED]
    first_pass = fresh(session, ids[4]).preflight_at

    verdicts = [(ids[0], PASS), (ids[1], REJECT), (ids[2], PASS), (ids[3], PASS), (ids[4], PASS)]
    outcomes = in_app(record, verdicts)

    assert outcomes == ["passed", "image_rejected", "passed", "skipped", "skipped"]
    motions = [fresh(session, m) for m in ids]
    assert motions[0].preflight_at is not None and motions[0].preflight_at == motions[2].preflight_at
    assert motions[1].status == Status.FAILED and motions[1].error["code"] == "image_rejected"
    assert motions[1].preflight_at is None and motions[3].preflight_at is None
    assert motions[4].preflight_at == first_pass  # checked once: the later verdict changes nothing
    failed = session.scalars(select(MotionEvent).where(MotionEvent.motion_id == ids[1])).all()
    assert [(e.from_status, e.to_status, e.source) for e in failed][-1] == (Status.QUEUED, Status.FAILED, "preflight")


def test_a_motion_locked_elsewhere_is_skipped_the_others_recorded(make_motions, session, engine, in_app):
    """PostgreSQL: a motion another transaction holds is skipped at once (no wait); the rest of the group goes in."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite serialises writers instead)")
    _, ids = make_motions(3)
    session.scalars(select(Motion).where(Motion.id == ids[1]).with_for_update()).one()  # held until the rollback

    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(outcomes=in_app(record, [(m, PASS) for m in ids])))
    worker.start()
    worker.join(60)  # a bound so a regression fails instead of hanging
    session.rollback()
    assert not worker.is_alive() and result["outcomes"] == ["passed", "skipped", "passed"]
    assert [fresh(session, m).preflight_at is not None for m in ids] == [True, False, True]
