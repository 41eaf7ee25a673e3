"""Pre-flight in the workflow: checked before dispatch, failed without a POST, a slow host holding only its motion."""

import threading

import pytest
from rq import Queue
from sqlalchemy import select

from app import jobs, queues
from app.domain import preflight as checks
from app.jogg import JoggClient
from app.models import Motion, MotionEvent, Status
from app.preflight import batch, claims, voices
from tests.jogg_fixtures import sandbox_stats, wait_until

GOOD = "/600x800.png"
VOICE = "en-US-JennyNeural"  # in the sandbox's voice library


@pytest.fixture
def jogg_settings(jogg_settings):
    """Pre-flight on (the shared default is off, tests/conftest.py), the local image host allowed by name."""
    return jogg_settings.with_overrides(preflight=True, image_allowed_networks=("localhost",))


@pytest.fixture
def run_jobs(run_jogg_jobs):
    """Jobs run inside the app that talks to the sandbox."""
    return run_jogg_jobs


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def history(session, motion_id) -> list[tuple[str, str, str]]:
    """(from, to, source) of each history row, oldest first."""
    rows = session.scalars(select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id))
    return [(row.from_status, row.to_status, row.source) for row in rows]


def submit_ready(in_app, run_jobs) -> list[str]:
    """One dispatcher pass, then the submit jobs on a real RQ worker."""
    picked = in_app(jobs.dispatch)
    run_jobs()
    return picked


def test_bad_image_and_unknown_voice_fail_without_a_post(make_motions, image_host, sandbox, session, in_app, run_jobs):
    """Too small, too wide, an unknown voice: failed by pre-flight with a person's message; only the good one POSTs."""
    caller, (good,) = make_motions(1, image_url=image_host.url(GOOD), voice_id=VOICE, prefix="good")
    _, (small,) = make_motions(1, caller, image_url=image_host.url("/300x300.png"), voice_id=VOICE, prefix="small")
    _, (wide,) = make_motions(1, caller, image_url=image_host.url("/1024x768.png"), voice_id=VOICE, prefix="wide")
    _, (voice,) = make_motions(1, caller, image_url=image_host.url(GOOD), voice_id="no-such-voice", prefix="voice")
    assert submit_ready(in_app, run_jobs) == []  # nothing is ready before its checks

    outcomes = in_app(jobs.preflight_motions)
    assert outcomes == {"passed": 1, "image_rejected": 2, "voice_unknown": 1}
    assert reload(session, good).dispatched_at is not None  # the pre-flight job handed it a free slot at once
    assert submit_ready(in_app, run_jobs) == []
    assert reload(session, small).error["message"] == "image is 300x300 pixels; JoggAI needs at least 512x512"
    assert "wider than it is tall" in reload(session, wide).error["message"]
    assert reload(session, voice).error["code"] == "voice_unknown"
    assert "no-such-voice" in reload(session, voice).error["message"]
    for motion_id in (small, wide, voice):
        motion = reload(session, motion_id)
        assert motion.status == Status.FAILED and motion.credits is None and motion.charged_at is None
        assert history(session, motion_id) == [(None, "queued", "api"), ("queued", "failed", "preflight")]
    assert "/1024x768.png" in image_host.hits and GOOD in image_host.hits  # the unknown voice needed no download
    assert sum(image_host.hits.values()) == 3
    stats = sandbox_stats(sandbox)
    assert stats["add_motion_calls_by_name"] == {"good-0": 1}
    assert stats["credits_charged"] == 2 == reload(session, good).credits


def test_a_hanging_image_host_holds_only_its_own_motion(make_motions, image_host, sandbox, session, processes):
    """Worker and clock processes: while one image host hangs, the other motions are checked and submitted."""
    image_host.hanging.set()
    caller, (slow,) = make_motions(1, image_url=image_host.url("/slow/600x800.png"), voice_id=VOICE, prefix="slow")
    _, fast = make_motions(3, caller, image_url=image_host.url(GOOD), voice_id=VOICE, prefix="fast")
    procs = processes()
    procs.start("worker")
    procs.start("worker")
    procs.start("clock")
    wait_until(lambda: all(reload(session, m).status == Status.PROCESSING for m in fast), timeout=30)
    held = reload(session, slow)
    assert held.status == Status.QUEUED and held.preflight_at is None  # its host has not answered yet
    assert image_host.hits["/slow/600x800.png"] == 1
    wait_until(lambda: reload(session, slow).status == Status.FAILED, timeout=30)  # the library's 10 s ran out
    assert reload(session, slow).error["code"] == "image_unreachable"
    assert "within 10 s" in reload(session, slow).error["message"]
    assert set(sandbox_stats(sandbox)["add_motion_calls_by_name"]) == {f"fast-{i}" for i in range(3)}


@pytest.mark.parametrize("policy", ["fail", "submit"])
def test_unreachable_image_follows_the_policy(policy, jogg_app, make_motions, closed_port, sandbox, session, in_app,
                                              run_jobs):  # fmt: skip
    """Connection refused: `fail` fails it (no POST); `submit` submits it with a warning in the history."""
    jogg_app.config["SETTINGS"] = jogg_app.config["SETTINGS"].with_overrides(preflight_unreachable=policy)
    url = f"http://localhost:{closed_port}/face.png"
    _, (motion_id,) = make_motions(1, image_url=url, voice_id=VOICE, prefix="refused")
    in_app(jobs.preflight_motions)
    submit_ready(in_app, run_jobs)
    motion = reload(session, motion_id)
    if policy == "fail":
        assert motion.status == Status.FAILED and motion.error["code"] == "image_unreachable"
        assert motion.error["message"].startswith("image could not be fetched:")
        assert sandbox_stats(sandbox)["add_motion_calls"] == 0
        return
    assert motion.status == Status.PROCESSING and motion.preflight_at is not None
    assert history(session, motion_id) == [
        (None, "queued", "api"), ("queued", "queued", "preflight"), ("queued", "processing", "worker")
    ]  # fmt: skip
    warning = session.scalars(select(MotionEvent).where(MotionEvent.source == "preflight")).one().detail
    assert warning["code"] == "image_unreachable" and warning["warning"].startswith("image could not be fetched:")


def test_preflight_off_submits_without_checks(jogg_app, make_motions, image_host, sandbox, session, in_app, run_jobs):
    """PREFLIGHT=false: dispatch ignores preflight_at, and the pre-flight job checks nothing."""
    jogg_app.config["SETTINGS"] = jogg_app.config["SETTINGS"].with_overrides(preflight=False)
    _, ids = make_motions(2, image_url=image_host.url("/300x300.png"), voice_id="no-such-voice", prefix="off")
    assert in_app(jobs.preflight_motions) == {}
    assert sorted(submit_ready(in_app, run_jobs)) == sorted(ids)
    assert all(reload(session, m).status == Status.PROCESSING for m in ids)
    assert image_host.hits == {}


def test_cancelled_and_dispatched_motions_are_not_checked(make_motions, image_host, session, in_app):
    """Only queued motions not yet dispatched wait for pre-flight."""
    caller, (cancelled,) = make_motions(1, image_url=image_host.url("/cancelled/600x800.png"), voice_id=VOICE)
    _, (kept,) = make_motions(1, caller, image_url=image_host.url(GOOD), voice_id=VOICE)
    reload(session, cancelled).status = Status.CANCELLED
    session.commit()
    assert in_app(jobs.preflight_motions) == {"passed": 1}
    assert list(image_host.hits) == [GOOD]
    assert reload(session, kept).preflight_at is not None


def test_concurrent_jobs_check_each_motion_once(make_motions, image_host, session, in_app, jogg_app):
    """Four pre-flight jobs at once, and three batches past the runner's lease: every image fetched exactly once."""
    caller, _ = make_motions(0)
    ids = [make_motions(1, caller, image_url=image_host.url(f"/m{i}/600x800.png"), voice_id=VOICE)[1][0]
           for i in range(40)]  # fmt: skip
    redis = jogg_app.extensions["redis"]

    def batch():
        with jogg_app.app_context():
            try:
                jobs.check_batch(redis, jogg_app.config["SETTINGS"], "no-runner")
                jobs.db.session.commit()
            finally:
                jobs.db.session.remove()

    threads = [threading.Thread(target=in_app, args=(jobs.preflight_motions,)) for _ in range(4)]
    threads += [threading.Thread(target=batch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while in_app(lambda: checks.waiting(jobs.db.session)) and in_app(jobs.preflight_motions):
        pass  # what the concurrent passes left (each takes at most one batch)
    assert all(reload(session, m).preflight_at is not None for m in ids)
    assert image_host.hits == {f"/m{i}/600x800.png": 1 for i in range(40)}


def test_a_worker_killed_mid_check_loses_nothing(make_motions, image_host, session, processes, in_app, monkeypatch):
    """SIGKILL while an image download hangs: the leases run out and the next job checks the motion."""
    image_host.hanging.set()
    _, (motion_id,) = make_motions(1, image_url=image_host.url("/slow/600x800.png"), voice_id=VOICE)
    procs = processes()
    worker = procs.start("worker")
    in_app(jobs.nudge_preflight)
    wait_until(lambda: image_host.hits.get("/slow/600x800.png") == 1, timeout=20)
    procs.kill(worker)
    image_host.hanging.clear()  # the host is fine again
    assert in_app(jobs.preflight_motions) == {}  # the dead job's lease still holds: no second check yet
    assert reload(session, motion_id).preflight_at is None
    wait_until(lambda: in_app(jobs.preflight_motions), timeout=claims.LEASE_SECONDS + 10, interval=0.5)
    motion = reload(session, motion_id)
    assert motion.status == Status.QUEUED and motion.preflight_at is not None
    assert image_host.hits["/slow/600x800.png"] == 2


def test_unreadable_voice_lists_skip_the_voice_check(jogg_app, make_motions, image_host, session, in_app, caplog):
    """JoggAI refuses the key: the voice cannot be checked, so it is skipped (a warning), never a failed motion."""
    jogg_app.extensions["jogg_client"] = JoggClient(jogg_app.config["SETTINGS"].jogg_base_url, "not-the-sandbox-key")
    _, ids = make_motions(2, image_url=image_host.url(GOOD), voice_id="no-such-voice", prefix="unverifiable")
    assert in_app(jobs.preflight_motions) == {"passed": 2}
    assert all(reload(session, m).preflight_at is not None for m in ids)
    assert "voice lists cannot be read" in caplog.text


def preflight_jobs(connection) -> int:
    """Pre-flight jobs waiting in the default queue."""
    queue = Queue(queues.DEFAULT, connection=connection)
    return sum(job.func_name == queues.path_of(jobs.preflight_motions) for job in queue.jobs)


def test_a_motion_queued_during_a_check_gets_a_fresh_job(make_motions, image_host, in_app, jogg_app, monkeypatch):
    """Its nudge found the runner busy: the runner, done, sees it waiting and hands over at once (not on the clock)."""
    caller, _ = make_motions(1, image_url=image_host.url(GOOD), voice_id=VOICE)
    checking = batch.image_groups

    def while_checking(*args, **kwargs):
        make_motions(1, caller, image_url=image_host.url("/later/600x800.png"), voice_id=VOICE)  # no nudge sent
        yield from checking(*args, **kwargs)

    monkeypatch.setattr(jobs.batch, "image_groups", while_checking)
    connection = jogg_app.extensions["redis"]
    before = preflight_jobs(connection)
    assert in_app(jobs.preflight_motions) == {"passed": 1}
    assert preflight_jobs(connection) == before + 1
    monkeypatch.setattr(jobs.batch, "image_groups", checking)
    assert in_app(jobs.preflight_motions) == {"passed": 1}  # the fresh job checks it; nothing more waits
    assert preflight_jobs(connection) == before + 1


def test_a_job_that_claims_nothing_hands_nothing_over(make_motions, image_host, in_app, jogg_app):
    """The waiting motion is leased to another job: no hand-over, so no job chases a lease it cannot take."""
    _, (motion_id,) = make_motions(1, image_url=image_host.url(GOOD), voice_id=VOICE)
    connection = jogg_app.extensions["redis"]
    assert claims.claim(connection, [motion_id], 1) == [motion_id]
    before = preflight_jobs(connection)
    assert in_app(jobs.preflight_motions) == {}
    assert preflight_jobs(connection) == before and image_host.hits == {}


@pytest.mark.parametrize("preflight", [True, False])
def test_a_worker_start_warms_the_voice_lists(preflight, jogg_app, sandbox, in_app):
    """With pre-flight on, a worker's start caches JoggAI's voice lists for every process; off, it asks nothing."""
    jogg_app.config["SETTINGS"] = jogg_app.config["SETTINGS"].with_overrides(preflight=preflight)
    connection = jogg_app.extensions["redis"]
    connection.delete(voices.CACHE_KEY)
    in_app(jobs.warm_up)
    assert bool(connection.exists(voices.CACHE_KEY)) is preflight
    assert bool(sandbox_stats(sandbox)["voice_lists"]) is preflight


def test_callers_are_checked_in_proportion_to_their_weights(make_motions, session):
    """Weights 1 and 3, six motions each: of the next four to check, one is the first caller's, three the other's."""
    from app.models import Caller

    light, _ = make_motions(6, image_url="https://img.example.com/a.png", voice_id=VOICE)
    heavy, _ = make_motions(6, image_url="https://img.example.com/b.png", voice_id=VOICE)
    session.get(Caller, heavy).weight = 3
    session.commit()
    picked = checks.next_unchecked(session, 10, 4)
    assert [c.image_url[-5] for c in picked].count("b") == 3
    assert len(checks.next_unchecked(session, 10, 100)) == 12
