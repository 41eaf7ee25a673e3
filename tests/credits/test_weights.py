"""Weights: POST slots go to callers with work in proportion to their weights, across dispatch rounds."""

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import event, select

from app import jobs
from app.domain import dispatch as dispatcher
from app.domain.submission import SubmitOutcome
from app.extensions import db
from app.models import Caller, Motion
from app.models.types import utcnow
from tests.jogg_fixtures import SANDBOX_KEY, sandbox_config, sandbox_stats, wait_until


@pytest.fixture
def run_jobs(run_jogg_jobs):
    """Jobs run inside the app that talks to the sandbox."""
    return run_jogg_jobs


def with_weight(session, caller_id: int, weight: int) -> int:
    """Give a caller its weight; returns its id."""
    session.get(Caller, caller_id).weight = weight
    session.commit()
    return caller_id


def rounds(jogg_app, in_app, run_jobs, slots: int, count: int) -> Counter:
    """`count` dispatch rounds of `slots` slots each, every pick submitted to the sandbox; picks per caller."""
    picks: Counter = Counter()

    def one_round():
        picked = dispatcher.dispatch(db.session, slots, utcnow())
        db.session.commit()
        jobs.enqueue_submissions(jogg_app.extensions["redis"], picked)
        return [db.session.get(Motion, m).caller_id for m in picked]

    for _ in range(count):
        picks.update(in_app(one_round))
        run_jobs()
    return picks


@pytest.mark.parametrize("slots", [3, 8, 13], ids=lambda s: f"{s}-per-round")
def test_shares_follow_weights_1_2_5(slots, make_motions, jogg_app, jogg_settings, session, sandbox, in_app, run_jobs):
    """Three callers with a backlog and weights 1:2:5: each one's share of 80 POSTs within 10 % of its weight's."""
    jogg_app.extensions["post_budget"].__init__(jogg_settings.redis_url, "1000/minute", SANDBOX_KEY)
    sandbox_config(sandbox, rate_limit=1000)
    weights = {}
    for weight, prefix in ((1, "w1"), (2, "w2"), (5, "w5")):
        caller, _ = make_motions(60, prefix=prefix)
        weights[with_weight(session, caller, weight)] = weight
    total = 80
    picks = rounds(jogg_app, in_app, run_jobs, slots, -(-total // slots))
    submitted = sum(picks.values())
    for caller, weight in weights.items():
        expected = submitted * weight / 8
        assert abs(picks[caller] - expected) <= 0.1 * expected, (slots, dict(picks))
    per_prefix = Counter(name.split("-")[0] for name in sandbox_stats(sandbox)["add_motion_calls_by_name"])
    assert sum(per_prefix.values()) == submitted


def test_weights_share_only_among_callers_with_work(
    make_motions, jogg_app, jogg_settings, session, sandbox, in_app, run_jobs
):
    """A heavy caller with 3 motions takes its 3; the light callers share the rest evenly."""
    jogg_app.extensions["post_budget"].__init__(jogg_settings.redis_url, "1000/minute", SANDBOX_KEY)
    sandbox_config(sandbox, rate_limit=1000)
    heavy = with_weight(session, make_motions(3, prefix="heavy")[0], 50)
    light = [make_motions(20, prefix=f"light{i}")[0] for i in range(2)]
    picks = rounds(jogg_app, in_app, run_jobs, 5, 5)
    assert picks[heavy] == 3
    assert picks[light[0]] + picks[light[1]] == 22 and abs(picks[light[0]] - picks[light[1]]) <= 1


def test_priority_then_age_inside_a_caller(make_motions, jogg_app, session, in_app):
    """Weights choose the caller; inside it, high before normal, oldest first."""
    caller, normal = make_motions(2, prefix="normal")
    _, high = make_motions(2, caller, priority="high", prefix="high")
    picked = in_app(lambda: dispatcher.dispatch(db.session, 3, utcnow()))
    assert picked == [high[0], high[1], normal[0]]
    assert session.scalars(select(Motion.id).where(Motion.dispatched_at.is_not(None))).all()


def test_shares_follow_weights_with_workers_and_preflight(make_motions, make_caller, jogg_settings, sandbox, session,
                                                          processes):  # fmt: skip
    """Worker and clock processes, pre-flight on, 40 motions from each of three callers (weights 1:2:5, queued in
    turn): while all three still have motions to submit, each one's share of the POSTs is within 10 % of its
    weight's (as the credits benchmark measures it). The motions are queued before the processes start, so the
    pace of queueing them here (slower on a loaded machine) does not ration the heavy caller."""
    image = f"{sandbox.base_url}/_sandbox/images/600x800.png"
    sandbox_config(sandbox, rate_limit=1000)  # the gateway's own budget (20 per 2 s) paces the POSTs
    callers = {with_weight(session, make_caller()[0], weight): weight for weight in (1, 2, 5)}
    for i in range(40):
        for caller in callers:
            make_motions(1, caller, prefix=f"c{caller}-{i}", image_url=image)
    procs = processes(PREFLIGHT="true", IMAGE_ALLOWED_NETWORKS="127.0.0.0/8", JOGG_POST_RATE_LIMIT="20 per 2 seconds")
    for _ in range(3):
        procs.start("worker")
    procs.start("clock")
    wait_until(lambda: all(len(t) == 40 for t in posts_by_caller(session, callers).values()), timeout=90, interval=0.5)
    posts = posts_by_caller(session, callers)
    all_busy_until = min(max(times) for times in posts.values())
    counts = {caller: sum(1 for t in times if t <= all_busy_until) for caller, times in posts.items()}
    total = sum(counts.values())
    for caller, weight in callers.items():
        expected = total * weight / 8
        assert abs(counts[caller] - expected) <= max(1.0, 0.1 * expected), counts  # 1 POST: w1 has about 8


def test_a_motion_handed_back_is_not_dispatched_again_while_its_job_ends(
    make_motions, jogg_app, jogg_settings, session, sandbox, in_app
):
    """A submit job that found no slot hands its motion back, held for HAND_BACK_HOLD: that job still counts as
    running in RQ, so a submit job enqueued for the motion meanwhile would be dropped as its duplicate and the
    motion lost until the sweep (the benchmark's shares had one such motion POSTed 48 s late)."""
    budget = jogg_app.extensions["post_budget"]
    budget.__init__(jogg_settings.redis_url, "1/minute", SANDBOX_KEY)
    budget.reset()
    _, (motion_id,) = make_motions(1, prefix="handed")
    assert in_app(lambda: dispatcher.dispatch(db.session, 1, utcnow())) == [motion_id]
    assert budget.try_acquire()  # the slot goes elsewhere: the job finds none within its wait
    with jogg_app.app_context():
        assert jobs.submit_motion(motion_id) == SubmitOutcome.DEFERRED
    assert in_app(lambda: dispatcher.dispatch(db.session, 1, utcnow())) == []
    later = utcnow() + dispatcher.HAND_BACK_HOLD
    assert in_app(lambda: dispatcher.dispatch(db.session, 1, later)) == [motion_id]


def posts_by_caller(session, callers) -> dict[int, list]:
    """When each caller's POSTs began (`submit_started_at`), by caller."""
    stmt = (
        select(Motion.caller_id, Motion.submit_started_at)
        .where(Motion.caller_id.in_(list(callers)), Motion.submit_started_at.is_not(None))
        .execution_options(populate_existing=True)
    )
    session.expire_all()
    posts: dict[int, list] = {caller: [] for caller in callers}
    for caller, started in session.execute(stmt):
        posts[caller].append(started)
    return posts


def test_a_motion_locked_when_its_job_begins_is_handed_back(make_motions, jogg_app, jogg_settings, session, in_app):
    """PostgreSQL: the motion's row is locked a moment when its submit job begins (intake attaching a reuse copy):
    the job hands it back (before, it skipped it and left it dispatched with no job until the sweep, 30 s on)."""
    if session.bind.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    jogg_app.extensions["post_budget"].__init__(jogg_settings.redis_url, "1000/minute", SANDBOX_KEY)
    _, (motion_id,) = make_motions(1, prefix="locked")
    assert in_app(lambda: dispatcher.dispatch(db.session, 1, utcnow())) == [motion_id]
    locker = session.bind.connect()
    locker.execute(select(Motion.id).where(Motion.id == motion_id).with_for_update())
    outcome = []

    def submit_job():
        with jogg_app.app_context():
            outcome.append(jobs.submit_motion(motion_id))

    job = threading.Thread(target=submit_job)
    job.start()
    time.sleep(1.0)
    locker.commit()
    locker.close()
    job.join(10)
    assert outcome == [SubmitOutcome.DEFERRED]
    motion = session.get(Motion, motion_id, populate_existing=True)
    assert motion.dispatched_at is None and motion.submit_started_at is None and motion.next_submit_at is not None


def test_standing_reads_weights_served_and_in_flight_in_one_statement(make_motions, session, engine):
    """Who waits, with what weight, what each was given over the fair window, and the slots in flight: one SELECT."""
    now = utcnow()
    heavy, ids = make_motions(7)
    light, _ = make_motions(1)
    idle, idle_ids = make_motions(1)  # nothing ready: not in the standing, whatever it was given
    with_weight(session, heavy, 3)
    session.get(Caller, light).weight = 0  # read as 1
    rows = {m: session.get(Motion, m) for m in ids + idle_ids}
    for motion_id in (ids[0], ids[1], idle_ids[0]):  # charged: within the window, and long before it
        rows[motion_id].charged_at, rows[motion_id].credits = now, 2
        rows[motion_id].status = "processing"
    rows[ids[1]].charged_at = now - dispatcher.FAIR_WINDOW - dispatcher.FAIR_WINDOW
    rows[ids[2]].dispatched_at = now  # handed out, its job not at its POST yet: in flight
    rows[ids[3]].dispatched_at = rows[ids[3]].submit_started_at = now  # handed out, POSTing: served, not in flight
    session.commit()

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        found = dispatcher.standing(session, now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert found == dispatcher.Standing({heavy: 3, light: 1}, {heavy: 3, light: 0}, 1)
    assert len(statements) == 1
