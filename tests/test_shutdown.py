"""SIGTERM to a busy worker: it finishes the job in hand before leaving, so nothing is lost."""

import signal
import threading
import time

from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Response

from app import jobs
from app.domain.motions import create_motion
from app.domain.transitions import transition
from app.extensions import db
from app.models import Caller, Delivery, Status
from tests.jogg_fixtures import Processes, wait_until


def test_sigterm_lets_the_current_job_finish(app, settings, session, make_caller):
    """A worker told to stop mid-callback completes that callback and records it, then exits cleanly."""
    arrived = threading.Event()

    def slow(_request):
        arrived.set()
        time.sleep(2)
        return Response("ok")

    with HTTPServer(threaded=True) as receiver:
        receiver.expect_request("/hooks").respond_with_handler(slow)
        url = receiver.url_for("/hooks").replace("localhost", "127.0.0.1")
        caller = session.get(Caller, make_caller()[0])
        body = {"image_url": "https://i.example.com/a.png", "name": "n", "voice_id": "v", "model": "2.0"}
        motion = create_motion(session, caller, {**body, "callback_url": url})
        transition(session, motion, Status.CANCELLED, "api")
        session.commit()
        with app.app_context():
            jobs.enqueue_due_deliveries()
            db.session.remove()
        workers = Processes(settings, {"CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"})
        try:
            worker = workers.start("worker", "--queues", "callbacks")
            wait_until(arrived.is_set, timeout=20)
            worker.send_signal(signal.SIGTERM)  # warm shutdown: finish the job, take no new one
            assert worker.wait(timeout=20) == 0
        finally:
            workers.stop_all()
    delivery = session.scalars(select(Delivery).execution_options(populate_existing=True)).one()
    assert delivery.status == "delivered" and delivery.attempts == 1
