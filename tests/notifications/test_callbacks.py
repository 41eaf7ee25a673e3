"""Callbacks end to end: a real local HTTP receiver, a real RQ worker, the scaled-down schedule."""

import json
import threading
import time
from datetime import timedelta

from pytest_httpserver import HTTPServer
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from app.domain import callers
from app.models import CallbackEndpoint, Caller, Delivery, DeliveryAttempt, Status
from app.models.types import utcnow


class Receiver:
    """Records what arrives; answers with whatever status the test sets."""

    def __init__(self, server: HTTPServer, path: str = "/hooks"):
        self.server, self.path, self.received, self.status, self.headers = server, path, [], 200, {}
        server.expect_request(path, method="POST").respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        """Where callbacks should go."""
        return self.server.url_for(self.path).replace("localhost", "127.0.0.1")

    def handle(self, request: Request) -> Response:
        """Keep the request and answer."""
        self.received.append((dict(request.headers), request.get_data()))
        return Response("ok", status=self.status, headers=self.headers)

    def bodies(self) -> list[dict]:
        """The JSON bodies received, in order."""
        return [json.loads(raw) for _, raw in self.received]


def secret_of(session, motion_id) -> str:
    """The signing secret of the caller owning a motion."""
    from app.models import Motion

    return session.get(Caller, session.get(Motion, motion_id).caller_id).webhook_secret


def test_a_completed_motion_is_called_back_signed(httpserver, motion_with_callback, move, deliver_due, session):
    """processing then completed: two signed callbacks, in order, that the spec's reference verifier accepts."""
    receiver = Receiver(httpserver)
    motion_id = motion_with_callback(receiver.url)
    move(motion_id, Status.PROCESSING, Status.COMPLETED)
    deliver_due()
    assert [b["type"] for b in receiver.bodies()] == ["motion.processing", "motion.completed"]
    assert [b["sequence"] for b in receiver.bodies()] == [1, 2]
    completed = receiver.bodies()[1]
    assert completed["data"]["id"] == motion_id and completed["data"]["status"] == "completed"
    verifier = Webhook(secret_of(session, motion_id))
    for headers, raw in receiver.received:
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered["webhook-id"] == json.loads(raw)["id"]
        verifier.verify(raw, lowered)  # raises if the signature does not match
    assert {d.status for d in session.scalars(select(Delivery))} == {"delivered"}


def test_retries_follow_the_schedule(httpserver, motion_with_callback, move, deliver_due, session):
    """A receiver answering 500: attempts about a second apart, then the delivery gives up, visible as failed."""
    receiver = Receiver(httpserver)
    receiver.status = 500
    motion_id = motion_with_callback(receiver.url)
    move(motion_id, Status.CANCELLED)
    deadline = time.monotonic() + 30
    while session.scalars(select(Delivery.status).execution_options(populate_existing=True)).one() == "pending":
        assert time.monotonic() < deadline
        deliver_due()
        time.sleep(0.1)
    attempts = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert len(attempts) == 4 and all(a.status_code == 500 for a in attempts)
    planned = [(a.next_attempt_at - a.at).total_seconds() for a in attempts[:-1]]
    assert all(0.8 <= delay <= 1.2 for delay in planned), planned  # the 1 s schedule, +/-20 % jitter
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= 0.8 for gap in gaps), gaps  # never earlier than planned
    delivery = session.scalars(select(Delivery)).one()
    assert delivery.status == "failed" and "gave up after 4 attempts" in delivery.last_error
    assert attempts[-1].next_attempt_at is None and attempts[0].response_body == "ok"


def test_retry_after_is_honoured_within_bounds(httpserver, motion_with_callback, move, deliver_due, session):
    """A 503 with Retry-After: 1 pushes the next attempt to 1x-2x the scheduled delay, not sooner."""
    receiver = Receiver(httpserver)
    receiver.status, receiver.headers = 503, {"Retry-After": "1"}
    motion_id = motion_with_callback(receiver.url)
    move(motion_id, Status.CANCELLED)
    deliver_due()
    attempt = session.scalars(select(DeliveryAttempt)).one()
    delay = (attempt.next_attempt_at - attempt.at).total_seconds()
    assert 0.8 <= delay <= 2.4


def test_429_waits_at_least_a_minute(httpserver, motion_with_callback, move, deliver_due, session):
    """After a 429 the next attempt is at least 60 s away, whatever the schedule says."""
    receiver = Receiver(httpserver)
    receiver.status = 429
    move(motion_id := motion_with_callback(receiver.url), Status.CANCELLED)
    deliver_due()
    attempt = session.scalars(select(DeliveryAttempt)).one()
    assert (attempt.next_attempt_at - attempt.at).total_seconds() >= 60
    assert motion_id


def test_410_stops_deliveries_to_that_url(httpserver, motion_with_callback, move, deliver_due, session, make_caller):
    """410 Gone: this delivery stops, the URL is disabled, later events to it are not sent."""
    receiver = Receiver(httpserver)
    receiver.status = 410
    caller_id, _ = make_caller()
    first = motion_with_callback(receiver.url, caller_id)
    move(first, Status.CANCELLED)
    deliver_due()
    second = motion_with_callback(receiver.url, caller_id)
    move(second, Status.CANCELLED)
    deliver_due()
    assert len(receiver.received) == 1
    statuses = session.scalars(select(Delivery.status).order_by(Delivery.id)).all()
    assert statuses == ["stopped", "stopped"]
    endpoint = session.scalars(select(CallbackEndpoint)).one()
    assert endpoint.disabled_at is not None and "410" in endpoint.disabled_reason


def test_receiver_down_then_up_gets_every_event_once_in_order(
    httpserver, motion_with_callback, move, deliver_due, session
):
    """Down for a while, then up: every event arrives, and de-duplicated by webhook-id they come in sequence order."""
    receiver = Receiver(httpserver)
    receiver.status = 503
    ids = [motion_with_callback(receiver.url) for _ in range(3)]
    for motion_id in ids:
        move(motion_id, Status.PROCESSING)
    deliver_due()
    for motion_id in ids:
        move(motion_id, Status.COMPLETED)
    deliver_due()
    receiver.status = 200
    deadline = time.monotonic() + 30
    while session.scalars(select(Delivery).where(Delivery.status == "pending")).first() is not None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
        deliver_due()
        session.expire_all()
    delivered = [(h["Webhook-Id"], json.loads(raw)) for h, raw in receiver.received if receiver.received]
    seen, firsts = set(), []
    for webhook_id, body in delivered:
        if webhook_id not in seen:
            seen.add(webhook_id)
            firsts.append(body)
    assert len(seen) == 6
    for motion_id in ids:
        assert [b["sequence"] for b in firsts if b["data"]["id"] == motion_id] == [1, 2]


def test_a_hanging_receiver_does_not_delay_another(motion_with_callback, move, notify_app, session):
    """One URL hangs for seconds; another caller's callback, due at the same time, arrives at once."""
    from app import jobs
    from tests.jogg_fixtures import Processes

    release = threading.Event()
    settings = notify_app.config["SETTINGS"]
    workers = Processes(settings, {"CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"})
    with HTTPServer(threaded=True) as slow_server, HTTPServer(threaded=True) as fast_server:
        slow_server.expect_request("/hooks").respond_with_handler(lambda _r: (release.wait(10), Response("late"))[1])
        fast = Receiver(fast_server)
        slow_url = slow_server.url_for("/hooks").replace("localhost", "127.0.0.1")
        move(motion_with_callback(slow_url), Status.CANCELLED)
        move(motion_with_callback(fast.url), Status.CANCELLED)
        try:
            workers.start("worker", "--queues", "callbacks")
            workers.start("worker", "--queues", "callbacks")
            with notify_app.app_context():
                jobs.enqueue_due_deliveries()
            deadline = time.monotonic() + 8
            while not fast.received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fast.received, "the healthy receiver was held up by the hanging one"
            assert not release.is_set()  # the slow one is still hanging
        finally:
            release.set()
            workers.stop_all()


def test_the_urls_sender_sends_what_waits_for_it(httpserver, motion_with_callback, move, notify_app, session):
    """A delivery that finds its URL busy waits in Redis; the URL's next sender sends it before letting go."""
    from app import jobs
    from app.extensions import db
    from app.notifications.url_turns import UrlTurn

    receiver = Receiver(httpserver)
    first, second = motion_with_callback(receiver.url), motion_with_callback(receiver.url)
    move(first, Status.CANCELLED)
    move(second, Status.CANCELLED)
    ids = {m: session.scalars(select(Delivery.id).where(Delivery.motion_id == m)).one() for m in (first, second)}
    with notify_app.app_context():
        busy = UrlTurn(notify_app.extensions["redis"], receiver.url)
        assert busy.take(0)  # another worker is sending to this URL
        assert jobs.deliver(ids[first]).startswith("deferred")
        assert receiver.received == []
        busy.release()
        assert jobs.deliver(ids[second]) == "delivered"  # and, before letting the URL go, the first one
        db.session.remove()
    assert sorted(b["data"]["id"] for b in receiver.bodies()) == sorted([first, second])
    statuses = session.scalars(select(Delivery.status).execution_options(populate_existing=True)).all()
    assert statuses == ["delivered", "delivered"]


def test_a_job_for_a_delivery_already_sent_sends_nothing(httpserver, motion_with_callback, move, notify_app, session):
    """A second job for a delivered callback (a clock re-enqueue racing the URL's sender) is a no-op."""
    from app import jobs
    from app.extensions import db

    receiver = Receiver(httpserver)
    motion_id = motion_with_callback(receiver.url)
    move(motion_id, Status.CANCELLED)
    delivery_id = session.scalars(select(Delivery.id).where(Delivery.motion_id == motion_id)).one()
    with notify_app.app_context():
        assert jobs.deliver(delivery_id) == "delivered"
        assert jobs.deliver(delivery_id).startswith("skipped")
        db.session.remove()
    assert len(receiver.received) == 1


def test_the_next_event_is_enqueued_once_the_earlier_one_is_delivered(
    httpserver, motion_with_callback, move, notify_app, session, redis_client
):
    """motion.completed waiting for motion.processing is enqueued as soon as processing is delivered."""
    from rq import Queue

    from app import jobs, queues
    from app.extensions import db

    receiver = Receiver(httpserver)
    motion_id = motion_with_callback(receiver.url)
    move(motion_id, Status.PROCESSING, Status.COMPLETED)
    processing, completed = session.scalars(
        select(Delivery.id).where(Delivery.motion_id == motion_id).order_by(Delivery.sequence)
    ).all()
    with notify_app.app_context():
        assert jobs.deliver(completed) == "waiting for an earlier event"
        assert jobs.deliver(processing) == "delivered"
        db.session.remove()
    assert Queue(queues.CALLBACKS, connection=redis_client).job_ids == [f"deliver-{completed}"]


def test_redelivery_sends_the_same_event_again(httpserver, motion_with_callback, move, deliver_due, session, client):
    """POST /v1/deliveries/{id}/redeliver: 202, and the receiver gets the same webhook-id once more."""
    receiver = Receiver(httpserver)
    caller_id, key = None, None
    from app.domain.callers import create_caller

    creds = create_caller(session, "redeliverer")
    session.commit()
    caller_id, key = creds.caller_id, creds.api_key
    motion_id = motion_with_callback(receiver.url, caller_id)
    move(motion_id, Status.CANCELLED)
    deliver_due()
    listed = client.get(f"/v1/motions/{motion_id}/deliveries", headers={"Authorization": f"Bearer {key}"}).get_json()
    delivery = listed["items"][0]
    assert delivery["status"] == "delivered" and delivery["attempts"][0]["status_code"] == 200
    resp = client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 202
    deliver_due()
    ids = [h["Webhook-Id"] for h, _ in receiver.received]
    assert len(ids) == 2 and ids[0] == ids[1]
    other = client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers={"Authorization": "Bearer nope"})
    assert other.status_code == 401


def test_secret_rotation_signs_with_both(httpserver, motion_with_callback, move, deliver_due, session, make_caller):
    """During the 24 h overlap each callback carries two signatures; a receiver with either secret verifies it."""
    receiver = Receiver(httpserver)
    caller_id, _ = make_caller("rotator")
    old = session.get(Caller, caller_id).webhook_secret
    new = callers.rotate_secret(session, "rotator").webhook_secret
    session.commit()
    move(motion_with_callback(receiver.url, caller_id), Status.CANCELLED)
    deliver_due()
    headers, raw = receiver.received[0]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert len(lowered["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(raw, lowered)
    Webhook(new).verify(raw, lowered)


def test_expired_overlap_signs_with_the_new_secret_only(
    httpserver, motion_with_callback, move, deliver_due, session, make_caller
):
    """After the overlap only the current secret signs."""
    receiver = Receiver(httpserver)
    caller_id, _ = make_caller("rotated-long-ago")
    callers.rotate_secret(session, "rotated-long-ago")
    caller = session.get(Caller, caller_id)
    caller.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    move(motion_with_callback(receiver.url, caller_id), Status.CANCELLED)
    deliver_due()
    assert len(receiver.received[0][0]["Webhook-Signature"].split(" ")) == 1


def test_private_callback_url_is_refused_without_the_allowlist(client, auth):
    """A callback to a private or metadata address is refused at intake (422) unless allowlisted."""
    body = {"image_url": "https://i.example.com/a.png", "name": "n", "voice_id": "v", "model": "2.0"}
    for url in ("http://169.254.169.254/latest", "http://10.0.0.5/hook", "http://[::1]/hook"):
        resp = client.post("/v1/motions", json={**body, "callback_url": url}, headers=auth)
        assert resp.status_code == 422, url
        assert "callback_url" in resp.get_json()["errors"]
