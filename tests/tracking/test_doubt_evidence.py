"""How the evidence is read for submissions in doubt: overlapping windows of same-name motions, late webhooks."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import jobs, jogg_connection
from app.domain import doubt
from app.extensions import db
from app.models import EventState, JoggEvent, Motion, MotionEvent, Status
from app.models.types import utcnow
from tests.jogg_fixtures import MOTION, sandbox_config, sandbox_stats, wait_until
from tests.tracking.test_event_processing import post_webhook


def in_doubt_since_before(session, motion_ids, list_before) -> None:
    """Mark motions as POSTed with this list baseline and their answer lost, with no list_after yet."""
    for motion_id in motion_ids:
        motion = session.get(Motion, motion_id)
        motion.submit_started_at = motion.submission_uncertain_at = utcnow() - timedelta(seconds=1)
        motion.submit_attempts, motion.submission_evidence = 1, {"list_before": list_before}
    session.commit()


def reload(session, motion_id) -> Motion:
    """The motion as stored now."""
    return session.get(Motion, motion_id, populate_existing=True)


def details(session, motion_id) -> list[dict]:
    """Its history rows' details."""
    stmt = select(MotionEvent.detail).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id)
    return [d or {} for d in session.scalars(stmt.execution_options(populate_existing=True))]


def test_one_new_entry_fitting_two_different_requests_is_ambiguous(make_motions, jogg_app, sandbox, session, in_app):
    """Same name, other image, windows that overlap: neither takes the entry, both wait and say why."""
    caller_id, (first,) = make_motions(1, name="twin", image_url="https://img.example.com/1.png")
    _, (second,) = make_motions(1, caller_id=caller_id, name="twin", image_url="https://img.example.com/2.png")
    in_doubt_since_before(session, (first, second), [])
    jogg_app.extensions["jogg_client"].add_motion(**{**MOTION, "name": "twin"})  # one of them reached JoggAI
    in_app(jobs.resolve_doubts)
    for motion_id in (first, second):
        motion = reload(session, motion_id)
        assert motion.status == "queued" and motion.submission_uncertain_at is not None
        assert any(d.get("action") == "waiting: the evidence is ambiguous" for d in details(session, motion_id))


def test_interchangeable_requests_share_out_the_new_entries(make_motions, jogg_app, sandbox, session, in_app):
    """Same request from two callers, one new entry: the first takes it, the other has no sign (the policy's turn)."""
    _, (first,) = make_motions(1, name="same")
    _, (second,) = make_motions(1, name="same")
    in_doubt_since_before(session, (first, second), [])
    jogg_app.extensions["jogg_client"].add_motion(**{**MOTION, "name": "same"})
    in_app(jobs.resolve_doubts)
    statuses = sorted(reload(session, motion_id).status for motion_id in (first, second))
    assert statuses == ["processing", "queued"]


def test_an_entry_already_there_before_the_post_is_not_evidence(make_motions, jogg_app, sandbox, session, in_app):
    """An older avatar of the same name (listed before the POST) does not count as this motion."""
    client = jogg_app.extensions["jogg_client"]
    client.add_motion(**{**MOTION, "name": "older"})
    before = [avatar.avatar_id for avatar in client.photo_avatars("older")]
    _, (motion_id,) = make_motions(1, name="older")
    in_doubt_since_before(session, (motion_id,), before)
    in_app(jobs.resolve_doubts)
    motion = reload(session, motion_id)
    assert motion.status == "queued" and motion.submission_evidence["list_after"] == before


def test_a_late_webhook_fills_in_the_motion_id_of_one_found_in_the_list(
    make_motions, live_app, jogg_app, sandbox, session, in_app, run_jobs
):
    """Found through the list (no motion id), then JoggAI's webhook comes: matched by avatar id, then applied."""
    sandbox_config(sandbox, motion_seconds=1.0)
    _, (motion_id,) = make_motions(1, name="late-hook")
    in_doubt_since_before(session, (motion_id,), [])
    jogg_app.extensions["jogg_client"].add_motion(**{**MOTION, "name": "late-hook"})
    in_app(jobs.resolve_doubts)
    assert reload(session, motion_id).status == "processing" and reload(session, motion_id).jogg_motion_id is None
    wait_until(lambda: session.scalar(select(JoggEvent.id).execution_options(populate_existing=True)), timeout=15)
    run_jobs()
    motion = reload(session, motion_id)
    assert motion.status == "completed" and motion.jogg_motion_id and motion.preview_url


def spy(monkeypatch, client, method: str) -> list[bool]:
    """Let the real client's method run, noting for each call whether a database transaction was open."""
    real, opened = getattr(client, method), []

    def call(*args, **kwargs):
        opened.append(db.session().in_transaction())
        return real(*args, **kwargs)

    monkeypatch.setattr(client, method, call)
    return opened


def test_a_webhook_adopts_a_motion_in_doubt_with_one_status_check_and_no_transaction_over_it(
    make_motions, jogg_app, sandbox, session, run_jobs, monkeypatch
):
    """JoggAI's webhook for a motion we have no id for: one status check, outside any transaction, then adopted."""
    _, (motion_id,) = make_motions(1, name="adopt-once")
    in_doubt_since_before(session, (motion_id,), [])
    client = jogg_app.extensions["jogg_client"]
    jogg_id = client.add_motion(**{**MOTION, "name": "adopt-once"}).motion_id
    checks, opened = sandbox_stats(sandbox)["status_checks"], spy(monkeypatch, client, "motion_status")
    assert post_webhook(jogg_app.test_client(), jogg_id, "evt-adopt-once").status_code < 300
    run_jobs()
    assert sandbox_stats(sandbox)["status_checks"] == checks + 1 and opened == [False]
    motion = reload(session, motion_id)
    assert motion.jogg_motion_id == jogg_id and motion.submission_uncertain_at is None
    assert any(d.get("adopted") and d.get("evidence") == "JoggAI's webhook for it" for d in details(session, motion_id))
    event = session.scalars(select(JoggEvent).execution_options(populate_existing=True)).one()
    assert event.state in (EventState.APPLIED, EventState.IGNORED) and motion_id in event.outcome


def test_resolving_holds_no_transaction_over_its_calls_to_joggai(
    make_motions, jogg_app, sandbox, session, in_app, monkeypatch
):
    """The list read and the status checks that learn other motions' avatar ids all run with no transaction open."""
    client = jogg_app.extensions["jogg_client"]
    caller_id, (other,) = make_motions(1, name="no-lock")
    accepted = session.get(Motion, other)
    accepted.status, accepted.submitted_at = Status.PROCESSING, utcnow()
    accepted.jogg_motion_id = client.add_motion(**{**MOTION, "name": "no-lock"}).motion_id
    _, (motion_id,) = make_motions(1, caller_id=caller_id, name="no-lock")
    in_doubt_since_before(session, (motion_id,), [])
    client.add_motion(**{**MOTION, "name": "no-lock"})  # this one's, its answer lost
    lists, checks = spy(monkeypatch, client, "photo_avatars"), spy(monkeypatch, client, "motion_status")
    in_app(jobs.resolve_doubts)
    assert lists == [False] and checks == [False]
    learned = reload(session, other).avatar_id
    motion = reload(session, motion_id)
    assert learned is not None and motion.status == "processing" and motion.avatar_id not in (None, learned)


@pytest.mark.parametrize(("policy", "status"), [("resubmit", "failed"), ("fail", "failed"), ("wait", "queued")])
def test_ambiguous_evidence_after_the_grace_fails_unless_the_policy_is_wait(
    make_motions, jogg_app, sandbox, session, in_app, policy, status
):
    """One new entry fits two different requests, grace over: submission_lost (a resubmit could pay twice), or wait."""
    caller_id, (first,) = make_motions(1, name="twin-late", image_url="https://img.example.com/1.png")
    _, (second,) = make_motions(1, caller_id=caller_id, name="twin-late", image_url="https://img.example.com/2.png")
    in_doubt_since_before(session, (first, second), [])
    jogg_app.extensions["jogg_client"].add_motion(**{**MOTION, "name": "twin-late"})
    rules = doubt.DoubtPolicy(policy, grace=0.5, max_attempts=5, intervals=(1,))
    assert in_app(lambda: doubt.resolve(db.session, first, jogg_connection.jogg_client(), rules)) != "settled"
    motion = reload(session, first)
    assert motion.status == status and sandbox_stats(sandbox)["add_motion_calls"] == 1
    if status == "failed":
        assert motion.error["code"] == "submission_lost" and "ambiguous" in motion.error["message"]
        assert details(session, first)[-1]["evidence"]["verdict"] == "ambiguous"
    else:
        assert any(d.get("action") == "waiting for an operator" for d in details(session, first))
    assert "resubmitted" not in [d.get("action") for d in details(session, first)]


def test_a_motion_completed_from_the_list_gets_its_preview_from_a_late_webhook(
    make_motions, jogg_app, sandbox, session, in_app, run_jobs
):
    """Completed from the list: preview_url null, the history says why; a later webhook fills it, no 2nd event."""
    sandbox_config(sandbox, motion_seconds=0.1)
    client = jogg_app.extensions["jogg_client"]
    _, (motion_id,) = make_motions(1, name="list-done")
    in_doubt_since_before(session, (motion_id,), [])
    jogg_id = client.add_motion(**{**MOTION, "name": "list-done"}).motion_id
    wait_until(lambda: [a.status for a in client.photo_avatars("list-done")] == ["completed"], timeout=15)
    in_app(jobs.resolve_doubts)
    motion = reload(session, motion_id)
    assert (motion.status, motion.preview_url, motion.jogg_motion_id) == ("completed", None, None)
    completed = [d for d in details(session, motion_id) if d.get("jogg_status") == "completed"]
    assert len(completed) == 1 and completed[0]["preview_url"].startswith("unknown: found in JoggAI's photo-avatar")
    assert post_webhook(jogg_app.test_client(), jogg_id, "evt-list-done").status_code < 300
    run_jobs()
    motion = reload(session, motion_id)
    assert motion.jogg_motion_id == jogg_id and motion.preview_url
    rows = session.scalars(select(MotionEvent).where(MotionEvent.motion_id == motion_id)).all()
    assert [row.to_status for row in rows].count("completed") == 2  # the move, then the note; one transition
    assert [(row.from_status, (row.detail or {}).get("action")) for row in rows][-1] == (
        "completed",
        "preview URL learned",
    )


def test_a_second_flag_keeps_the_list_read_after_the_post(make_motions, jogg_app, session, in_app):
    """Flagged by the clock first, then the POST's own list read arrives: it is kept as the window's end."""
    _, (motion_id,) = make_motions(1, name="flagged-twice")
    in_doubt_since_before(session, (motion_id,), [3])

    def flag_again():
        """The submit job's late flag, with the list it read once its POST ended."""
        doubt.flag(db.session, db.session.get(Motion, motion_id), "read timed out", [3, 9])
        db.session.commit()

    in_app(flag_again)
    assert reload(session, motion_id).submission_evidence == {"list_before": [3], "list_after": [3, 9]}
