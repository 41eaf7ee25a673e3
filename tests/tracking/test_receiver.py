"""POST /webhooks/jogg: signatures checked on the raw body before anything is stored."""

import json

import pytest
from rq import Queue
from sqlalchemy import func, select

from app import jobs, queues
from app.models import EventState, JoggAccount, JoggEvent
from tests.tracking.conftest import sign

BODY = {"event_id": "evt-1", "event": "generated_motion_success", "timestamp": 1, "data": {"motion_id": "jm-1"}}
RAW = json.dumps(BODY, separators=(",", ":")).encode()


def post(client, raw: bytes, signature: str | None, event: str = "generated_motion_success"):
    """Send a webhook as JoggAI would."""
    headers = {"X-Webhook-Event": event, "User-Agent": "JoggAI-Webhook/2.0"}
    if signature is not None:
        headers["X-Webhook-Signature"] = signature
    return client.post("/webhooks/jogg", data=raw, content_type="application/json", headers=headers)


def stored(session, client) -> tuple[int, int]:
    """How many events exist, and how many jobs wait to process them."""
    waiting = Queue(queues.DEFAULT, connection=client.application.extensions["redis"]).jobs
    return (
        session.scalar(select(func.count()).select_from(JoggEvent)),
        sum(job.func_name == queues.path_of(jobs.process_jogg_events) for job in waiting),
    )


def test_good_signature_is_stored_and_acknowledged(client, session):
    """A correctly signed event: 200, stored raw with its motion id, and a job nudged to process it."""
    resp = post(client, RAW, sign(RAW))
    assert resp.status_code == 200 and resp.get_json()["duplicate"] is False
    event = session.scalars(select(JoggEvent)).one()
    assert (event.event, event.event_id, event.jogg_motion_id, event.raw_body) == (
        "generated_motion_success", "evt-1", "jm-1", RAW,
    )  # fmt: skip
    assert stored(session, client) == (1, 1)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        sign(RAW)[:-1],
        sign(RAW)[:32],
        sign(RAW).upper(),
        sign(RAW, "a-wrong-secret"),
        sign(json.dumps(BODY).encode()),  # the same event re-serialised with other spacing
        sign(json.dumps(BODY, separators=(",", ":"), sort_keys=True).encode()),
        "0" * 64,
    ],
    ids=["missing", "empty", "truncated-1", "truncated-half", "uppercase", "wrong-secret", "reserialised",
         "reordered", "zeros"],
)  # fmt: skip
def test_bad_signatures_get_401_and_nothing_is_stored(client, session, signature):
    """Missing, empty, truncated, forged or re-serialised signatures: 401, no event, no work."""
    resp = post(client, RAW, signature)
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert stored(session, client) == (0, 0)


def test_duplicates_are_acknowledged_and_counted(client, session):
    """The same (event, event_id) again: 200 marked duplicate, still one row, one piece of work."""
    post(client, RAW, sign(RAW))
    resp = post(client, RAW, sign(RAW))
    assert resp.status_code == 200 and resp.get_json()["duplicate"] is True
    assert stored(session, client) == (1, 1)
    assert session.scalars(select(JoggEvent)).one().duplicates == 1


def test_unhandled_event_types_are_recorded_and_acknowledged(client, session):
    """An event we do not act on: 200, stored as ignored, no work queued."""
    raw = json.dumps({"event_id": "e2", "event": "generated_video_success", "data": {}}).encode()
    assert post(client, raw, sign(raw), "generated_video_success").status_code == 200
    event = session.scalars(select(JoggEvent)).one()
    assert event.state == EventState.IGNORED
    assert stored(session, client) == (1, 0)


def test_unparseable_but_signed_body_is_kept(client, session):
    """A signed body that is not JSON is still stored (raw) and acknowledged."""
    raw = b"not json at all"
    assert post(client, raw, sign(raw)).status_code == 200
    assert session.scalars(select(JoggEvent)).one().raw_body == raw


def test_old_and_registered_secrets_are_accepted(app, settings, session, monkeypatch):
    """During a secret change the old secret still verifies, and so does the secret stored by register-webhook."""
    from app import create_app
    from app.domain import jogg_webhooks

    old_app = create_app(settings.with_overrides(jogg_webhook_secret="new", jogg_webhook_secret_old="old"))
    client = old_app.test_client()
    assert post(client, RAW, sign(RAW, "old")).status_code == 200
    assert post(client, RAW, sign(RAW, "neither")).status_code == 401
    session.add(JoggAccount(id=1, last_caller_served=0, webhook_secret="registered"))
    session.commit()
    jogg_webhooks.mark_secrets_changed(app.extensions["redis"])  # as register-webhook does after storing it
    raw = json.dumps({**BODY, "event_id": "evt-2"}).encode()
    assert post(client, raw, sign(raw, "registered")).status_code == 200


def test_body_size_is_limited(client, session):
    """A body over the limit is refused before it is read."""
    raw = b'{"pad": "' + b"x" * 70_000 + b'"}'
    assert post(client, raw, sign(raw)).status_code == 413
    assert stored(session, client) == (0, 0)
