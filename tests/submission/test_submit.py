"""Submitting to JoggAI (the sandbox over HTTP): the happy path and every error code's behaviour."""

import time

import pytest
from sqlalchemy import select

from app import budget as budget_module
from app import jobs
from app.domain import account as accounts
from app.models import JoggAccount, Motion, MotionEvent
from tests.jogg_fixtures import sandbox_config, sandbox_stats


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def account(session) -> JoggAccount:
    """The JoggAI account row as stored now."""
    return session.get(JoggAccount, 1, populate_existing=True)


def submit_all(in_app, run_jobs):
    """One dispatcher pass, then run the submit jobs with a real RQ worker."""
    picked = in_app(jobs.dispatch)
    run_jobs()
    return picked


def test_queued_motion_goes_to_processing(client, auth, jogg_app, sandbox, session, in_app, run_jobs):
    """Accepted through the API, dispatched and submitted: processing with JoggAI's motion id stored."""
    body = {"image_url": "https://i.example.com/a.png", "name": "first", "voice_id": "v", "model": "2.0"}
    motion_id = client.post("/v1/motions", json=body, headers=auth).get_json()["id"]
    assert submit_all(in_app, run_jobs) == [motion_id]
    motion = reload(session, motion_id)
    assert motion.status == "processing"
    assert motion.jogg_motion_id and motion.submitted_at and motion.next_poll_at
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"first": 1}
    events = session.scalars(select(MotionEvent).where(MotionEvent.motion_id == motion_id)).all()
    assert [(e.to_status, e.source) for e in events] == [("queued", "api"), ("processing", "worker")]
    assert events[-1].detail["jogg_motion_id"] == motion.jogg_motion_id


def test_a_submit_job_reports_its_lag(client, auth, jogg_app, sandbox, session, in_app, run_jobs, monkeypatch):
    """The job says, with its slot request, how long it took since its dispatch: the dispatcher's lead follows it."""
    monkeypatch.setattr(budget_module, "LAGS_READ_EVERY", 0.0)  # the dispatch read none; read again after the job
    budget = jogg_app.extensions["post_budget"]
    budget.reset()
    body = {"image_url": "https://i.example.com/a.png", "name": "lagging", "voice_id": "v", "model": "2.0"}
    motion_id = client.post("/v1/motions", json=body, headers=auth).get_json()["id"]
    started = time.monotonic()
    assert submit_all(in_app, run_jobs) == [motion_id]
    (lag,) = budget.recent_lags()
    assert 0 <= lag <= time.monotonic() - started + 0.01  # from its dispatch, inside this run, to its slot request
    assert reload(session, motion_id).status == "processing"


def test_a_motion_found_due_after_all_is_recorded_by_the_same_statement(
    make_motions, jogg_app, session, in_app, monkeypatch
):
    """The one-statement record missed (say the account resumed between it and the look at why): the motion is
    due, so it is recorded by that statement again, under the lock just taken, and committed with the unit of work."""
    from app.domain import submission
    from app.extensions import db

    _, (motion_id,) = make_motions(1, prefix="due-after-all")
    record, tries = submission._record_attempt, []

    def first_misses(*args):
        tries.append(args[1])
        return None if len(tries) == 1 else record(*args)

    monkeypatch.setattr(submission, "_record_attempt", first_misses)
    attempt = in_app(lambda: submission.begin(db.session, motion_id, ["av-1"]))
    assert isinstance(attempt, submission.Attempt) and attempt.payload["name"] == "due-after-all-0"
    assert tries == [motion_id, motion_id]
    motion = reload(session, motion_id)
    assert motion.submit_started_at == attempt.started and motion.submit_attempts == 1
    assert motion.submission_evidence == {"list_before": ["av-1"]}


def test_new_motion_nudges_a_dispatch(client, auth, jogg_app, sandbox, session, run_jobs):
    """A new motion's dispatch nudge runs the dispatcher, so no clock tick is needed to submit it."""
    jogg_client = jogg_app.test_client()
    body = {"image_url": "https://i.example.com/a.png", "name": "nudged", "voice_id": "v", "model": "2.0"}
    motion_id = jogg_client.post("/v1/motions", json=body, headers=auth).get_json()["id"]
    run_jobs()  # the nudged dispatch job enqueues the submit job
    run_jobs()
    assert reload(session, motion_id).status == "processing"


def test_fair_across_callers(make_motions, jogg_app, sandbox, session, in_app, run_jobs, jogg_settings):
    """Caller A with 60 queued and B with 5: all of B's are among the first 10 submissions."""
    app = jogg_app
    app.extensions["post_budget"].__init__(jogg_settings.redis_url, "10/minute", "sandbox-key")
    _, a_ids = make_motions(60, prefix="A")
    _, b_ids = make_motions(5, prefix="B")
    picked = submit_all(in_app, run_jobs)
    assert len(picked) == 10
    assert set(b_ids) <= set(picked)
    per_name = sandbox_stats(sandbox)["add_motion_calls_by_name"]
    assert sum(1 for name in per_name if name.startswith("B-")) == 5
    assert sum(per_name.values()) == 10


def test_priority_then_age_within_a_caller(make_motions, jogg_app, session, in_app, run_jobs, jogg_settings, sandbox):
    """Within one caller: high before normal before low, oldest first."""
    jogg_app.extensions["post_budget"].__init__(jogg_settings.redis_url, "3/minute", "sandbox-key")
    caller_id, low = make_motions(2, priority="low", prefix="low")
    _, normal = make_motions(2, caller_id=caller_id, prefix="normal")
    _, high = make_motions(2, caller_id=caller_id, priority="high", prefix="high")
    assert submit_all(in_app, run_jobs) == [high[0], high[1], normal[0]]


def test_bad_request_fails_with_joggs_message(make_motions, jogg_app, sandbox, session, in_app, run_jobs):
    """40000: that motion fails with JoggAI's message and code; nothing else stops."""
    _, (bad,) = make_motions(1, image_url="not-a-url")
    _, (good,) = make_motions(1)
    submit_all(in_app, run_jobs)
    motion = reload(session, bad)
    assert motion.status == "failed"
    assert motion.error["code"] == "jogg_rejected" and motion.error["jogg_code"] == 40000
    assert "image_url" in motion.error["message"]
    assert reload(session, good).status == "processing"


@pytest.mark.parametrize("knob", [{"business_error_rate": 1.0}, {"error_rate": 1.0}], ids=["50000", "http-5xx"])
def test_server_errors_retry_with_backoff_then_fail(make_motions, jogg_app, sandbox, session, in_app, run_jobs, knob):
    """50000 and 5xx: the motion stays queued with a later retry time, and fails after the last attempt."""
    sandbox_config(sandbox, **knob)
    _, (motion_id,) = make_motions(1)
    submit_all(in_app, run_jobs)
    motion = reload(session, motion_id)
    assert (motion.status, motion.submit_attempts) == ("queued", 1)
    assert motion.next_submit_at is not None and motion.submit_started_at is None
    deadline = time.monotonic() + 10
    while reload(session, motion_id).status != "failed" and time.monotonic() < deadline:
        time.sleep(0.05)  # the backoff between attempts (tiny in these settings)
        submit_all(in_app, run_jobs)
    motion = reload(session, motion_id)
    assert motion.status == "failed"
    assert motion.submit_attempts == jogg_app.config["SETTINGS"].submit_max_attempts
    assert motion.error["code"] == "jogg_unavailable"
    assert sandbox_stats(sandbox)["add_motion_calls"] == motion.submit_attempts


def test_rate_limited_backs_off_without_failing(make_motions, jogg_app, sandbox, session, in_app, run_jobs):
    """429: the motion stays queued, unspent, and all POSTs cool down."""
    sandbox_config(sandbox, rate_limit=2)
    _, ids = make_motions(3)
    submit_all(in_app, run_jobs)
    statuses = sorted(reload(session, m).status for m in ids)
    assert statuses == ["processing", "processing", "queued"]
    waiting = next(reload(session, m) for m in ids if reload(session, m).status == "queued")
    assert waiting.submit_attempts == 0 and waiting.error is None
    assert account(session).cooldown_until is not None
    assert in_app(jobs.dispatch) == []  # cooling down: nothing dispatched


def test_out_of_credit_pauses_then_resumes(make_motions, jogg_app, sandbox, session, in_app, run_jobs):
    """18020: submissions pause (motions stay queued, readyz says why) and resume when credit is added."""
    sandbox_config(sandbox, credits=0)
    _, ids = make_motions(3)
    submit_all(in_app, run_jobs)
    assert [reload(session, m).status for m in ids] == ["queued"] * 3
    assert account(session).paused_reason == accounts.OUT_OF_CREDIT
    ready = jogg_app.test_client().get("/readyz").get_json()
    assert ready["jogg"]["submissions"] == "paused" and ready["jogg"]["reason"] == "out_of_credit"
    assert in_app(jobs.probe_account) == accounts.OUT_OF_CREDIT  # still no credit
    sandbox_config(sandbox, credits=100)
    time.sleep(0.05)  # let the next probe fall due
    assert in_app(jobs.probe_account) is None
    submit_all(in_app, run_jobs)
    assert [reload(session, m).status for m in ids] == ["processing"] * 3


@pytest.mark.parametrize(
    ("knob", "reason"),
    [({"api_key": "another-key"}, accounts.BAD_CREDENTIALS), ({"permission_denied": True}, accounts.NO_PERMISSION)],
    ids=["10105", "18025"],
)
def test_bad_key_pauses_until_fixed(make_motions, jogg_app, sandbox, session, in_app, run_jobs, knob, reason):
    """10105 and 18025: pause with the motions queued; a probe resumes once the key works again."""
    sandbox_config(sandbox, **knob)
    _, (motion_id,) = make_motions(1)
    submit_all(in_app, run_jobs)
    assert reload(session, motion_id).status == "queued"
    assert account(session).paused_reason == reason
    assert in_app(jobs.dispatch) == []
    sandbox_config(sandbox, api_key="sandbox-key", permission_denied=False)
    time.sleep(0.05)
    assert in_app(jobs.probe_account) is None
    submit_all(in_app, run_jobs)
    assert reload(session, motion_id).status == "processing"


def test_timeout_after_sending_is_never_resubmitted(make_motions, jogg_app, sandbox, session, in_app, run_jobs):
    """A read timeout leaves the outcome unknown: the motion is flagged, not POSTed again."""
    sandbox_config(sandbox, hang_rate=1.0, hang_seconds=4)
    _, (motion_id,) = make_motions(1, name="hung")
    submit_all(in_app, run_jobs)
    motion = reload(session, motion_id)
    assert motion.status == "queued" and motion.submission_uncertain_at is not None
    sandbox_config(sandbox, hang_rate=0.0)
    assert in_app(jobs.submit_motion, motion_id) == "uncertain"
    submit_all(in_app, run_jobs)
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {"hung": 1}


def test_connection_refused_is_retried(make_motions, jogg_app, session, in_app, run_jobs):
    """JoggAI unreachable (nothing sent): retried later, not flagged uncertain."""
    from devstack.redis import free_port

    jogg_app.extensions["jogg_client"].base_url = f"http://127.0.0.1:{free_port()}"
    _, (motion_id,) = make_motions(1)
    submit_all(in_app, run_jobs)
    motion = reload(session, motion_id)
    assert (motion.status, motion.submit_attempts, motion.submission_uncertain_at) == ("queued", 1, None)
    assert motion.next_submit_at is not None


def test_cancel_is_refused_once_submission_began(make_motions, session, client, make_caller):
    """A motion whose POST may be in flight can no longer be cancelled."""
    from app.models.types import utcnow

    caller_id, key = make_caller()
    _, (motion_id,) = make_motions(1, caller_id=caller_id)
    motion = reload(session, motion_id)
    motion.submit_started_at = utcnow()
    session.commit()
    resp = client.post(f"/v1/motions/{motion_id}/cancel", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 409


def test_a_late_answer_after_adoption_changes_nothing(make_motions, jogg_app, sandbox, session, in_app):
    """If the webhook adopted the motion first, our late POST answer (success or timeout) leaves it as it is."""
    from app.domain import submission
    from app.extensions import db
    from app.jogg import AddMotionResult, UnknownOutcome

    _, (motion_id,) = make_motions(1)
    motion = reload(session, motion_id)
    from app.domain.transitions import transition
    from app.models import Status
    from app.models.types import utcnow

    motion.submit_started_at, motion.jogg_motion_id = utcnow(), "jm-adopted"
    transition(session, motion, Status.PROCESSING, "webhook", {"adopted": True})
    session.commit()
    policy = submission.Policy(max_attempts=5, retry_base=1, first_poll=120, probe_interval=60, window_seconds=60)
    late = AddMotionResult("jm-adopted", "pending")
    assert in_app(lambda: submission._on_accepted(db.session, motion_id, late, policy)) == "already adopted"
    timeout = UnknownOutcome("read timed out")
    assert in_app(lambda: submission._on_error(db.session, motion_id, timeout, policy)) == "already settled"
    motion = reload(session, motion_id)
    assert (motion.status, motion.submission_uncertain_at) == ("processing", None)


def test_no_slot_at_send_time_undoes_the_attempt(client, auth, jogg_app, sandbox, session, in_app, run_jobs):
    """The window filled up between dispatch and send: nothing goes out, the motion is queued as it was."""
    body = {"image_url": "https://i.example.com/a.png", "name": "late", "voice_id": "v", "model": "2.0"}
    motion_id = client.post("/v1/motions", json=body, headers=auth).get_json()["id"]
    assert in_app(jobs.dispatch) == [motion_id]
    budget = jogg_app.extensions["post_budget"]
    while budget.try_acquire():  # another process took every slot meanwhile
        pass
    run_jobs()
    motion = reload(session, motion_id)
    assert (motion.status, motion.submit_started_at, motion.dispatched_at, motion.submit_attempts) == (
        "queued", None, None, 0,
    )  # fmt: skip
    assert sandbox_stats(sandbox)["add_motion_calls_by_name"] == {}


def test_a_deferred_submission_reads_no_photo_avatar_list(make_motions, jogg_app, sandbox, session, in_app):
    """Account paused: the submit job defers without POSTing and without spending a GET on JoggAI's list."""
    from app import jogg_connection
    from app.domain import submission
    from app.extensions import db

    _, (motion_id,) = make_motions(1)
    account_row = session.get(JoggAccount, 1) or JoggAccount(id=1, last_caller_served=0)
    account_row.paused_reason = accounts.OUT_OF_CREDIT
    session.add(account_row)
    session.commit()
    lists_before = sandbox_stats(sandbox)["photo_avatar_lists"]
    budget, policy = in_app(jogg_connection.post_budget), in_app(jogg_connection.submit_policy)
    outcome = in_app(lambda: submission.submit(db.session, motion_id, jogg_connection.jogg_client(), budget, policy))
    stats = sandbox_stats(sandbox)
    assert outcome == "deferred" and stats["add_motion_calls"] == 0
    assert stats["photo_avatar_lists"] == lists_before
    assert reload(session, motion_id).submission_evidence is None
