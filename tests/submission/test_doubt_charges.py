"""Charges when a motion in doubt is POSTed again: the service's resubmit carries the charge, an operator's does not."""

from app import jobs
from app.domain import interventions
from app.extensions import db
from app.models import Motion, Status
from tests.jogg_fixtures import sandbox_config, sandbox_stats


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def release(motion_id: str) -> None:
    """An operator's `flask motions requeue` of the motion (run inside the app)."""
    interventions.requeue(db.session, motion_id, "released without evidence")


def submit_ready(in_app, run_jobs) -> None:
    """One dispatcher pass, then the submit jobs on a real RQ worker."""
    in_app(jobs.dispatch)
    run_jobs()


def test_an_operators_requeue_of_a_motion_in_doubt_charges_the_re_post_again(
    make_motions, sandbox, session, in_app, run_jobs
):
    """JoggAI created the first (answer lost) and the operator released it: two charges, as JoggAI made two."""
    sandbox_config(sandbox, drop_after_create_rate=1.0)
    _, (motion_id,) = make_motions(1, prefix="requeued")
    submit_ready(in_app, run_jobs)
    first = reload(session, motion_id)
    assert first.submission_uncertain_at is not None and first.credits == 2
    first_charge = first.charged_at
    sandbox_config(sandbox, drop_after_create_rate=0.0)

    in_app(release, motion_id)
    released = reload(session, motion_id)
    assert released.charged_at is None and released.credits == 2 and released.submission_evidence is None
    submit_ready(in_app, run_jobs)

    motion = reload(session, motion_id)
    assert motion.status == Status.PROCESSING and motion.credits == 4 and motion.charged_at > first_charge
    assert sandbox_stats(sandbox)["credits_charged"] == 4  # the ledger says what JoggAI took: never less
    assert sandbox_stats(sandbox)["motions_created_by_name"] == {"requeued-0": 2}


def test_a_re_post_lost_again_after_a_requeue_is_charged_once_more(make_motions, sandbox, session, in_app, run_jobs):
    """Released, then its re-POST's answer is lost as well: in doubt again, charged for the second POST too."""
    sandbox_config(sandbox, drop_after_create_rate=1.0)
    _, (motion_id,) = make_motions(1, prefix="lost-twice")
    submit_ready(in_app, run_jobs)
    in_app(release, motion_id)
    submit_ready(in_app, run_jobs)

    motion = reload(session, motion_id)
    assert motion.submission_uncertain_at is not None and motion.credits == 4
    assert sandbox_stats(sandbox)["credits_charged"] == 4
