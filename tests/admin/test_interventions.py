"""Operator actions on one motion: show everything about it, requeue it, fail it."""

import json

import pytest
from rq import Queue
from sqlalchemy import select

from app import jobs, queues
from app.database import commit_step
from app.domain import interventions
from app.domain.errors import IllegalTransition, NotFound
from app.models import Delivery, DeliveryAttempt, JoggEvent, Motion, MotionEvent, NotificationEvent, Status
from app.models.types import utcnow


def history(session, motion_id: str) -> list[MotionEvent]:
    """The motion's status changes, oldest first."""
    stmt = select(MotionEvent).where(MotionEvent.motion_id == motion_id).order_by(MotionEvent.id)
    return list(session.scalars(stmt))


def reload(session, motion_id: str) -> Motion:
    """The motion as committed."""
    session.rollback()
    return session.get(Motion, motion_id, populate_existing=True)


def test_show_gathers_history_deliveries_and_jogg_events(session, motion_in):
    """show returns the fields, every status change, deliveries with attempt counts and this motion's webhooks."""
    motion = motion_in(Status.PROCESSING)
    mine = JoggEvent(
        event="generated_motion_success", event_id="e1", jogg_motion_id=motion.jogg_motion_id, raw_body=b"{}"
    )
    other = JoggEvent(event="generated_motion_success", event_id="e2", jogg_motion_id="jm-other", raw_body=b"{}")
    session.add_all([mine, other])
    session.commit()
    shown = interventions.show(session, motion.id)
    json.dumps(shown)  # ready for the CLI as it is
    assert shown["motion"]["id"] == motion.id and shown["motion"]["status"] == "processing"
    assert [(e["from_status"], e["to_status"]) for e in shown["events"]] == [(None, "queued"), ("queued", "processing")]
    assert [(d["event_type"], d["attempts"]) for d in shown["deliveries"]] == [("motion.processing", 0)]
    assert [e["event_id"] for e in shown["jogg_events"]] == ["e1"]


def test_show_unknown_motion_is_not_found(session):
    """An unknown id raises NotFound."""
    with pytest.raises(NotFound):
        interventions.show(session, "mot_nope")


def test_requeue_sends_a_failed_motion_back_with_an_operator_event(session, motion_in):
    """failed -> queued, recorded with source operator and the reason; a dispatch is scheduled."""
    motion = motion_in(Status.FAILED)
    interventions.requeue(session, motion.id, "JoggAI outage is over")
    session.commit()
    assert reload(session, motion.id).status == Status.QUEUED
    last = history(session, motion.id)[-1]
    assert (last.from_status, last.to_status, last.source) == ("failed", "queued", "operator")
    assert last.detail["reason"] == "JoggAI outage is over"


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED, Status.PROCESSING, Status.QUEUED])
def test_requeue_refuses_anything_but_failed_or_uncertain(session, motion_in, status):
    """Requeueing a completed, cancelled, processing or plainly queued motion is an illegal transition."""
    motion = motion_in(status)
    events_before = len(history(session, motion.id))
    with pytest.raises(IllegalTransition):
        interventions.requeue(session, motion.id, "please")
    session.rollback()
    assert reload(session, motion.id).status == status
    assert len(history(session, motion.id)) == events_before


def test_requeue_releases_an_uncertain_submission(app, session, motion_in, redis_client):
    """A queued motion in doubt is released for resubmission: flags cleared, an operator note, a dispatch nudge."""
    motion = motion_in(Status.QUEUED)
    motion.submit_started_at = motion.submission_uncertain_at = motion.dispatched_at = utcnow()
    session.commit()
    interventions.requeue(session, motion.id, "checked with JoggAI: never arrived")
    with app.app_context():  # the nudge goes out through the app's Redis once committed
        commit_step(session)
    released = reload(session, motion.id)
    assert released.status == Status.QUEUED
    assert released.submission_uncertain_at is None and released.submit_started_at is None
    assert released.dispatched_at is None
    note = history(session, motion.id)[-1]
    assert (note.from_status, note.to_status, note.source) == ("queued", "queued", "operator")
    assert note.detail["reason"] == "checked with JoggAI: never arrived"
    queued = [job.func_name for job in Queue(queues.DEFAULT, connection=redis_client).jobs]
    assert queued == [queues.path_of(jobs.dispatch_now)]


@pytest.mark.parametrize("status", [Status.QUEUED, Status.PROCESSING])
def test_fail_records_the_operator_error(session, motion_in, status):
    """queued or processing -> failed with code failed_by_operator, the event by operator, callers told the error."""
    motion = motion_in(status)
    interventions.fail(session, motion.id, "stuck at JoggAI for a week")
    session.commit()
    failed = reload(session, motion.id)
    expected = {"code": "failed_by_operator", "message": "stuck at JoggAI for a week", "jogg_code": None}
    assert failed.status == Status.FAILED and failed.error == expected
    last = history(session, motion.id)[-1]
    assert (last.to_status, last.source) == ("failed", "operator")
    told = session.scalars(
        select(NotificationEvent).where(
            NotificationEvent.motion_id == motion.id, NotificationEvent.type == "motion.failed"
        )
    ).one()
    assert told.data["error"]["code"] == "failed_by_operator"


def test_fail_refuses_a_finished_motion_and_leaves_its_error(session, motion_in):
    """Failing a completed motion is illegal and does not touch its error field."""
    motion = motion_in(Status.COMPLETED)
    with pytest.raises(IllegalTransition):
        interventions.fail(session, motion.id, "no")
    loaded = session.get(Motion, motion.id)
    assert loaded.error is None and loaded.status == Status.COMPLETED


def test_show_counts_delivery_attempts(session, motion_in):
    """A delivery's attempt count is shown."""
    motion = motion_in(Status.PROCESSING)
    row = session.scalars(select(Delivery).where(Delivery.motion_id == motion.id)).one()
    row.attempts = 2
    session.add(DeliveryAttempt(delivery_id=row.id, status_code=500))
    session.commit()
    assert interventions.show(session, motion.id)["deliveries"][0]["attempts"] == 2
