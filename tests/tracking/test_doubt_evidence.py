"""How the evidence is read for submissions in doubt: overlapping windows of same-name motions, late webhooks."""

from datetime import timedelta

from sqlalchemy import select

from app.models import JoggEvent, Motion, MotionEvent
from app.models.types import utcnow
from tests.jogg_fixtures import MOTION, sandbox_config, wait_until
from workers import jobs


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
