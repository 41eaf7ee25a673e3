"""Retention: only old, finished rows go, in batches; a dry run only counts; ages parse strictly."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.cli.retention import purge_all
from app.domain import retention
from app.models import (
    Delivery,
    DeliveryAttempt,
    IdempotencyKey,
    JoggEvent,
    Motion,
    MotionEvent,
    NotificationEvent,
    Status,
)
from app.models.types import utcnow

OLD = timedelta(days=100)
KEEP = timedelta(days=90)
MOTION_TABLES = (MotionEvent, NotificationEvent, Delivery)


def rows(session, model, **where) -> int:
    """How many rows the table holds (optionally matching column values)."""
    session.rollback()
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return session.scalar(stmt)


def attempt(session, motion: Motion, age: timedelta) -> DeliveryAttempt:
    """Log one attempt, `age` ago, on the motion's first delivery."""
    delivery = session.scalars(select(Delivery).where(Delivery.motion_id == motion.id).limit(1)).one()
    row = DeliveryAttempt(delivery_id=delivery.id, at=utcnow() - age, status_code=500)
    session.add(row)
    session.commit()
    return row


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_parse_age(text, expected):
    """Days, hours, minutes and seconds parse."""
    assert retention.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "-5d", "1.5d", "90 days", "90w", "9d9h"])
def test_parse_age_refuses_junk(text):
    """Anything but a whole number and one unit is a ValueError."""
    with pytest.raises(ValueError):
        retention.parse_age(text)


def test_purge_takes_old_finished_motions_with_everything_of_theirs(session, motion_in):
    """Old completed, failed and cancelled motions go with their events, deliveries and attempts."""
    doomed = [motion_in(status, age=OLD) for status in (Status.COMPLETED, Status.FAILED, Status.CANCELLED)]
    attempt(session, doomed[0], timedelta(0))  # fresh itself, but its motion is going
    ids = [motion.id for motion in doomed]
    counts = purge_all(session, KEEP)
    assert counts["motions"] == 3 and counts["delivery_attempts"] == 1
    for motion_id in ids:
        assert rows(session, Motion, id=motion_id) == 0
        for model in MOTION_TABLES:
            assert rows(session, model, motion_id=motion_id) == 0
    assert counts["motion_events"] == 3 + 3 + 2


def test_purge_leaves_fresh_and_unfinished_motions(session, motion_in):
    """Recent finished motions and old queued or processing ones stay, history and all."""
    kept = [motion_in(Status.COMPLETED, age=timedelta(days=10)), motion_in(Status.FAILED)]
    kept += [motion_in(Status.QUEUED, age=OLD), motion_in(Status.PROCESSING, age=OLD)]
    ids = [motion.id for motion in kept]
    events_before = rows(session, MotionEvent)
    counts = purge_all(session, KEEP)
    assert counts["motions"] == 0 and counts["motion_events"] == 0
    assert all(rows(session, Motion, id=motion_id) == 1 for motion_id in ids)
    assert rows(session, MotionEvent) == events_before


def test_purge_takes_expired_records_of_live_motions(session, motion_in):
    """Old webhooks, old attempts and old or expired keys go; recent ones stay."""
    live = motion_in(Status.PROCESSING, age=OLD)
    live_id, caller_id = live.id, live.caller_id
    old, now = utcnow() - OLD, utcnow()
    session.add_all(
        [
            JoggEvent(event="x", event_id="old", raw_body=b"{}", received_at=old),
            JoggEvent(event="x", event_id="new", raw_body=b"{}"),
            IdempotencyKey(caller_id=caller_id, key="old", request_hash="h", created_at=old, expires_at=now + KEEP),
            IdempotencyKey(caller_id=caller_id, key="expired", request_hash="h", expires_at=now - KEEP / 90),
            IdempotencyKey(caller_id=caller_id, key="fresh", request_hash="h", expires_at=now + KEEP),
        ]
    )
    session.commit()
    attempt(session, live, OLD)
    attempt(session, live, timedelta(0))
    counts = purge_all(session, KEEP)
    assert counts == {**counts, "jogg_events": 1, "idempotency_keys": 2, "delivery_attempts": 1}
    assert rows(session, DeliveryAttempt) == 1
    assert session.scalars(select(JoggEvent.event_id)).all() == ["new"]
    assert session.scalars(select(IdempotencyKey.key)).all() == ["fresh"]
    assert rows(session, Motion, id=live_id) == 1


def test_purge_works_in_batches(session, motion_in):
    """With batch_size=2, five old motions all go, over several committed transactions."""
    for _ in range(5):
        motion_in(Status.COMPLETED, age=OLD)
    commits = []
    event.listen(session, "after_commit", lambda _session: commits.append(1))
    counts = purge_all(session, KEEP, batch_size=2)
    assert counts["motions"] == 5 and counts["motion_events"] == 15 and counts["deliveries"] == 10
    assert rows(session, Motion) == 0
    assert len(commits) >= 3  # ceil(5 / 2) motion batches at least


def test_count_predicts_purge_and_deletes_nothing(session, motion_in):
    """count() reports exactly what purge() then deletes, and leaves every row in place."""
    for status in (Status.COMPLETED, Status.FAILED, Status.PROCESSING):
        motion = motion_in(status, age=OLD)
    attempt(session, motion, OLD)  # an old attempt of a live motion
    predicted = retention.count(session, KEEP)
    assert predicted["motions"] == 2 and rows(session, Motion) == 3
    assert purge_all(session, KEEP) == predicted


def test_count_takes_an_attempt_going_both_ways_once(session, motion_in):
    """An old attempt of an old finished motion is counted once; with a fresh one of it and an old one of a live one."""
    doomed, live = motion_in(Status.COMPLETED, age=OLD), motion_in(Status.PROCESSING, age=OLD)
    attempt(session, doomed, OLD)  # goes with its motion and past its own keeping
    attempt(session, doomed, timedelta(0))  # goes with its motion
    attempt(session, live, OLD)  # past its own keeping
    attempt(session, live, timedelta(0))  # stays
    predicted = retention.count(session, KEEP)
    assert predicted["delivery_attempts"] == 3 and rows(session, DeliveryAttempt) == 4
    assert purge_all(session, KEEP) == predicted


def test_cli_dry_run_then_purge(cli, session, motion_in):
    """--dry-run prints the counts and keeps the rows; without it the same rows go."""
    motion_id = motion_in(Status.COMPLETED, age=OLD).id
    dry = cli("retention", "purge", "--older-than", "90d", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["counts"]["motions"] == 1 and rows(session, Motion, id=motion_id) == 1
    real = cli("retention", "purge", "--older-than", "90d", "--batch-size", "1")
    assert real.exit_code == 0, real.output
    out = json.loads(real.output)
    assert out["dry_run"] is False and out["counts"] == json.loads(dry.output)["counts"]
    assert rows(session, Motion, id=motion_id) == 0


def test_cli_refuses_a_bad_age(cli):
    """A junk --older-than is a usage error naming the option."""
    result = cli("retention", "purge", "--older-than", "ninety days")
    assert result.exit_code == 2 and "--older-than" in result.output
