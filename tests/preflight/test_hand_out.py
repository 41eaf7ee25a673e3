"""Slots at a backlog's start: a pre-flight job hands free slots to the motions it passed, and a dispatch never
waits behind another's hold on the account row."""

import threading

import pytest
from sqlalchemy import select

from app import jobs, jogg_connection
from app.domain import account as accounts
from app.domain import dispatch as dispatcher
from app.extensions import db
from app.models import Motion, Status
from app.models.types import utcnow
from tests.jogg_fixtures import sandbox_stats

GOOD = "/600x800.png"
VOICE = "en-US-JennyNeural"  # in the sandbox's voice library


@pytest.fixture
def jogg_settings(jogg_settings):
    """Pre-flight on, the local image host allowed by name (as tests/preflight/test_workflow.py)."""
    return jogg_settings.with_overrides(preflight=True, image_allowed_networks=("localhost",))


@pytest.fixture
def run_jobs(run_jogg_jobs):
    """Jobs run inside the app that talks to the sandbox."""
    return run_jogg_jobs


def dispatched(session, ids: list[str]) -> list[str]:
    """Those of the motions handed a slot (dispatched, or already accepted by JoggAI)."""
    rows = session.scalars(select(Motion).where(Motion.id.in_(ids)).execution_options(populate_existing=True))
    return sorted(m.id for m in rows if m.dispatched_at is not None or m.status != Status.QUEUED)


def test_the_preflight_job_hands_free_slots_to_the_motions_it_passed(
    make_motions, image_host, sandbox, session, in_app, run_jobs
):
    """No clock and no dispatch job: the motions pre-flight passes get the free slots, and a real worker POSTs them."""
    _, ids = make_motions(3, image_url=image_host.url(GOOD), voice_id=VOICE, prefix="ready")
    assert dispatched(session, ids) == []

    outcomes = in_app(jobs.preflight_motions)
    assert outcomes == {"passed": 3}
    assert dispatched(session, ids) == sorted(ids)
    run_jobs()
    assert {session.get(Motion, m, populate_existing=True).status for m in ids} == {Status.PROCESSING}
    assert sandbox_stats(sandbox)["add_motion_calls"] == 3


def test_the_preflight_job_hands_out_no_slot_while_the_budget_is_spent(
    make_motions, image_host, sandbox, session, in_app, jogg_app
):
    """With every slot taken, the passed motions wait for the clock's dispatch: nothing is handed out early."""
    with jogg_app.app_context():
        budget = jogg_connection.post_budget()
        budget.reset()
        for _ in range(budget.size):
            assert budget.try_acquire()
    _, ids = make_motions(2, image_url=image_host.url(GOOD), voice_id=VOICE, prefix="spent")

    assert in_app(jobs.preflight_motions) == {"passed": 2}
    assert dispatched(session, ids) == []
    assert sandbox_stats(sandbox)["add_motion_calls"] == 0
    with jogg_app.app_context():
        jogg_connection.post_budget().reset()


def test_a_dispatch_does_not_wait_for_another_holding_the_account(make_motions, session, engine, in_app):
    """PostgreSQL: while one dispatch holds the account row, another returns at once; the next pass hands out."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite serialises writers instead)")
    _, ids = make_motions(2)
    accounts.load(session)
    session.commit()  # the account row exists, as after a service's first dispatch
    accounts.load(session, lock=True)  # held as a dispatch in another process holds it, until the rollback below

    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(picked=in_app(dispatch_unchecked)))
    worker.start()
    worker.join(60)  # a bound so a regression fails instead of hanging: it would wait for the holder forever
    assert not worker.is_alive() and result["picked"] == []
    session.rollback()  # the holder lets go
    assert sorted(in_app(dispatch_unchecked)) == sorted(ids)


def dispatch_unchecked() -> list[str]:
    """A dispatcher pass with every free slot over the queued motions, pre-flight's verdicts not asked for."""
    return dispatcher.dispatch(db.session, jogg_connection.post_budget().free_slots(), utcnow(), preflight=False)
