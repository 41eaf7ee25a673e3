"""Real worker and clock processes against the sandbox: pacing across processes, and a SIGKILL mid-POST."""

from sqlalchemy import func, select

from app import jobs
from app.models import Motion, Status
from tests.jogg_fixtures import sandbox_config, sandbox_stats, wait_until

WINDOW_POSTS, WINDOW_SECONDS = 20, 4


def processing_count(session) -> int:
    """How many motions JoggAI has accepted so far."""
    return session.scalar(select(func.count()).where(Motion.status == Status.PROCESSING))


def test_three_workers_share_the_post_budget(make_motions, sandbox, session, processes):
    """100 queued motions, 3 worker processes and a clock: no 429 ever, and each window nearly full."""
    sandbox_config(sandbox, rate_limit=WINDOW_POSTS, rate_window_seconds=WINDOW_SECONDS)
    for prefix in ("a", "b", "c", "d"):
        make_motions(25, prefix=prefix)
    procs = processes(JOGG_POST_RATE_LIMIT=f"{WINDOW_POSTS} per {WINDOW_SECONDS} seconds")
    for _ in range(3):
        procs.start("worker")
    procs.start("clock")
    wait_until(lambda: processing_count(session) == 100, timeout=60, interval=0.5)

    stats = sandbox_stats(sandbox)
    assert stats["responses_429"] == 0
    assert stats["add_motion_calls"] == 100
    assert set(stats["add_motion_calls_by_name"].values()) == {1}
    times = sorted(t.timestamp() for t in session.scalars(select(Motion.submitted_at)))
    full_windows = int((times[-1] - times[0]) // WINDOW_SECONDS)
    for k in range(full_windows):
        start = times[0] + k * WINDOW_SECONDS
        in_window = sum(1 for t in times if start <= t < start + WINDOW_SECONDS)
        assert in_window >= WINDOW_POSTS - 1, (k, in_window)


def test_sigkill_between_post_and_commit_never_submits_twice(make_motions, sandbox, session, processes, in_app):
    """A worker killed while its POST is in flight: the motion is flagged, and no second add_motion happens."""
    sandbox_config(sandbox, hang_rate=1.0, hang_seconds=30)
    _, (motion_id,) = make_motions(1, name="killed-mid-post")
    procs = processes(JOGG_READ_TIMEOUT="60")
    worker = procs.start("worker")
    in_app(jobs.dispatch)
    wait_until(lambda: sandbox_stats(sandbox)["add_motion_calls"] == 1, timeout=20)
    procs.kill(worker)  # the work horse dies inside the POST: JoggAI has the motion, we have no answer
    sandbox_config(sandbox, hang_rate=0.0)

    motion = session.get(Motion, motion_id, populate_existing=True)
    assert motion.status == Status.QUEUED and motion.submit_started_at is not None
    assert in_app(jobs.submit_motion, motion_id) == "uncertain"  # the job's second run
    procs.start("worker")
    procs.start("clock")

    def settled() -> Motion | None:
        motion = session.get(Motion, motion_id, populate_existing=True)
        return motion if motion.submission_uncertain_at is None else None

    # The doubt ends on evidence (JoggAI's photo-avatar list shows the motion it made), never on a second POST.
    motion = wait_until(settled, timeout=30, interval=0.5)
    assert motion.status == Status.PROCESSING and motion.avatar_id is not None  # adopted: JoggAI's own motion
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"killed-mid-post": 1}


def test_sweep_flags_a_submission_stuck_past_its_job_timeout(make_motions, session, in_app):
    """A submission that started long ago and never finished is flagged uncertain by the sweep."""
    from app.jobs import STUCK_SUBMISSION
    from app.models.types import utcnow

    _, (motion_id,) = make_motions(1)
    motion = session.get(Motion, motion_id)
    motion.submit_started_at = utcnow() - STUCK_SUBMISSION * 2
    motion.dispatched_at = motion.submit_started_at
    session.commit()
    in_app(jobs.sweep)
    motion = session.get(Motion, motion_id, populate_existing=True)
    assert motion.submission_uncertain_at is not None and motion.dispatched_at is None


def test_sweep_returns_lost_dispatches_to_the_pool(make_motions, session, in_app):
    """A dispatched motion whose submit job vanished (Redis lost it) becomes dispatchable again."""
    from datetime import timedelta

    from app.models.types import utcnow

    _, (motion_id,) = make_motions(1)
    motion = session.get(Motion, motion_id)
    motion.dispatched_at = utcnow() - timedelta(minutes=5)
    session.commit()
    in_app(jobs.sweep)
    assert session.get(Motion, motion_id, populate_existing=True).dispatched_at is None
