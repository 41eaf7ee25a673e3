"""Charges: a motion's credits are set when JoggAI accepts its POST or may have (in doubt), once; a refusal is free."""

import pytest

from app import jobs, metrics
from app.models import Caller, Motion, Status
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until


@pytest.fixture
def run_jobs(run_jogg_jobs):
    """Jobs run inside the app that talks to the sandbox."""
    return run_jogg_jobs


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def spent_metric(session, caller_id: int, model: str) -> float:
    """motion_gateway_credits_spent_total for this caller (by name) and model, as this process counted it."""
    name = session.get(Caller, caller_id).name
    return metrics.CREDITS_SPENT.labels(name, model)._value.get()


def submit_ready(in_app, run_jobs) -> list[str]:
    """One dispatcher pass, then the submit jobs on a real RQ worker."""
    picked = in_app(jobs.dispatch)
    run_jobs()
    return picked


def test_accepted_post_charges_the_models_cost(make_motions, sandbox, session, in_app, run_jobs):
    """2.0 costs 2 and 2.0-Pro 3 (JOGG_CREDIT_COSTS): stored on the motion and counted; the sandbox agrees."""
    caller, (plain,) = make_motions(1, model="2.0", prefix="plain")
    _, (pro,) = make_motions(1, caller, model="2.0-Pro", prefix="pro")
    before = spent_metric(session, caller, "2.0"), spent_metric(session, caller, "2.0-Pro")
    submit_ready(in_app, run_jobs)
    for motion_id, credits in ((plain, 2), (pro, 3)):
        motion = reload(session, motion_id)
        assert motion.status == Status.PROCESSING and motion.credits == credits and motion.charged_at is not None
    after = spent_metric(session, caller, "2.0"), spent_metric(session, caller, "2.0-Pro")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 3)
    assert sandbox_stats(sandbox)["credits_charged"] == 5


@pytest.mark.parametrize("image_url", ["not-a-url"], ids=["40000"])
def test_a_refused_post_costs_nothing(image_url, make_motions, sandbox, session, in_app, run_jobs):
    """JoggAI answered with an error: it did not accept the POST, so no credits are recorded (nor charged)."""
    caller, (motion_id,) = make_motions(1, image_url=image_url)
    before = spent_metric(session, caller, "2.0")
    submit_ready(in_app, run_jobs)
    motion = reload(session, motion_id)
    assert motion.status == Status.FAILED and motion.error["code"] == "jogg_rejected"
    assert motion.credits is None and motion.charged_at is None
    assert spent_metric(session, caller, "2.0") == before
    assert sandbox_stats(sandbox)["credits_charged"] == 0


def test_retryable_error_then_accept_charges_once(make_motions, sandbox, session, in_app, run_jobs):
    """A 5xx (refused, free), then accepted on the retry: one charge."""
    sandbox_config(sandbox, error_rate=1.0)
    _, (motion_id,) = make_motions(1)
    submit_ready(in_app, run_jobs)
    assert reload(session, motion_id).charged_at is None
    sandbox_config(sandbox, error_rate=0.0)
    wait_until(lambda: submit_ready(in_app, run_jobs) or reload(session, motion_id).status == Status.PROCESSING)
    motion = reload(session, motion_id)
    assert motion.status == Status.PROCESSING and motion.credits == 2
    assert sandbox_stats(sandbox)["credits_charged"] == 2


def test_in_doubt_is_charged_once(make_motions, sandbox, session, in_app, run_jobs):
    """The answer is lost after JoggAI created (and charged) it: charged in doubt; adopting it later charges no more."""
    sandbox_config(sandbox, drop_after_create_rate=1.0)
    caller, (motion_id,) = make_motions(1, prefix="doubt")
    before = spent_metric(session, caller, "2.0")
    submit_ready(in_app, run_jobs)
    motion = reload(session, motion_id)
    assert motion.submission_uncertain_at is not None and motion.credits == 2
    charged_at = motion.charged_at
    sandbox_config(sandbox, drop_after_create_rate=0.0)
    in_app(jobs.resolve_doubts)
    assert in_app(jobs.submit_motion, motion_id) in ("skipped", "uncertain")  # a repeated submit job changes nothing
    motion = reload(session, motion_id)
    assert motion.status == Status.PROCESSING  # found in JoggAI's list
    assert motion.credits == 2 and motion.charged_at == charged_at
    assert spent_metric(session, caller, "2.0") - before == 2
    assert sandbox_stats(sandbox)["credits_charged"] == 2


def test_lost_before_create_then_resubmitted_is_charged_once(
    jogg_app, make_motions, sandbox, session, in_app, run_jobs
):
    """Lost before JoggAI created it (charged in doubt, since it may have been), then resubmitted: still one charge."""
    jogg_app.config["SETTINGS"] = jogg_app.config["SETTINGS"].with_overrides(uncertain_grace=0.0)
    sandbox_config(sandbox, hang_before_rate=1.0, hang_seconds=3)
    caller, (motion_id,) = make_motions(1, prefix="lost")
    submit_ready(in_app, run_jobs)
    assert reload(session, motion_id).credits == 2
    sandbox_config(sandbox, hang_before_rate=0.0)

    def settled():
        in_app(jobs.resolve_doubts)
        submit_ready(in_app, run_jobs)
        return reload(session, motion_id).status == Status.PROCESSING

    wait_until(settled, timeout=30, interval=0.5)
    assert reload(session, motion_id).credits == 2
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"lost-0": 2}
    assert sandbox_stats(sandbox)["credits_charged"] == 2  # the first POST never reached creation


def test_the_sweeps_stuck_submission_flag_charges(make_motions, session, in_app):
    """A submission the sweep finds stuck past its job timeout is flagged in doubt and charged, as the clock's is."""
    from app.jobs import STUCK_SUBMISSION
    from app.models.types import utcnow

    caller, (motion_id,) = make_motions(1, prefix="stuck")
    before = spent_metric(session, caller, "2.0")
    motion = reload(session, motion_id)
    motion.submit_started_at = motion.dispatched_at = utcnow() - STUCK_SUBMISSION * 2
    session.commit()
    in_app(jobs.sweep)
    motion = reload(session, motion_id)
    assert motion.submission_uncertain_at is not None
    assert motion.credits == 2 and motion.charged_at is not None
    assert spent_metric(session, caller, "2.0") - before == 2


def test_a_retried_motion_is_preflighted_and_charged_again(make_motions, sandbox, session, in_app, run_jobs):
    """Failed after an accepted POST, then retried: pre-flight runs again and the new POST adds its cost."""
    from app.domain import interventions
    from app.extensions import db

    caller, (motion_id,) = make_motions(1, prefix="retried")
    before = spent_metric(session, caller, "2.0")
    submit_ready(in_app, run_jobs)
    first = reload(session, motion_id)
    assert first.status == Status.PROCESSING and first.credits == 2
    first_charged_at = first.charged_at
    first.preflight_at = first_charged_at  # as if pre-flight had passed before the first POST
    session.commit()
    in_app(lambda: interventions.fail(db.session, motion_id, "rendering stalled"))
    in_app(lambda: interventions.requeue(db.session, motion_id, "try again"))
    retried = reload(session, motion_id)
    assert retried.status == Status.QUEUED and retried.preflight_at is None
    assert retried.charged_at is None and retried.credits == 2  # the first POST's credits were spent
    wait_until(lambda: submit_ready(in_app, run_jobs) or reload(session, motion_id).status == Status.PROCESSING)
    motion = reload(session, motion_id)
    assert motion.credits == 4 and motion.charged_at > first_charged_at
    assert spent_metric(session, caller, "2.0") - before == 4
    assert sandbox_stats(sandbox)["credits_charged"] == 4


def test_a_charge_is_counted_once_its_transaction_commits(make_motions, session):
    """Counted by commit_step after the commit, with the transaction's nudges; charging again counts nothing more."""
    from app.database import commit_step
    from app.domain import charges

    caller, (motion_id,) = make_motions(1, prefix="counted")
    before = spent_metric(session, caller, "2.0")
    assert charges.charge(session, reload(session, motion_id), {"2.0": 2})
    assert spent_metric(session, caller, "2.0") == before  # not before the commit
    commit_step(session)
    assert spent_metric(session, caller, "2.0") - before == 2
    assert not charges.charge(session, reload(session, motion_id), {"2.0": 2})  # once per POST
    commit_step(session)
    commit_step(session)  # a later commit does not count the earlier charge again
    assert spent_metric(session, caller, "2.0") - before == 2


def test_a_rolled_back_charge_is_never_counted(make_motions, session):
    """A unit of work that fails, or a plain rollback: nothing stored, nothing counted, not even by the next commit."""
    from app.database import commit_step, unit_of_work
    from app.domain import charges

    caller, (motion_id,) = make_motions(1, prefix="rolled-back")
    before = spent_metric(session, caller, "2.0")
    with pytest.raises(RuntimeError), unit_of_work(session):
        charges.charge(session, reload(session, motion_id), {"2.0": 2})
        raise RuntimeError("the transaction fails after the charge")
    charges.charge(session, reload(session, motion_id), {"2.0": 2})
    session.rollback()
    commit_step(session)
    motion = reload(session, motion_id)
    assert motion.credits is None and motion.charged_at is None
    assert spent_metric(session, caller, "2.0") == before
