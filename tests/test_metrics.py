"""GET /metrics: counts from every process, live state at scrape time."""

import os
import re

from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from app.domain.motions import create_motion
from app.domain.transitions import transition
from app.models import Caller, Status
from tests.jogg_fixtures import Processes, wait_until


def samples(client) -> dict[tuple, float]:
    """Every sample of the scrape, keyed by (name, sorted labels)."""
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_http_requests_are_counted_by_route_and_status(client, auth):
    """Requests show up by route template, method and status, with a latency histogram."""
    client.get("/v1/motions", headers=auth)
    client.get("/v1/motions/mot_x", headers=auth)
    found = samples(client)
    key = ("mg_http_requests_total", (("method", "GET"), ("route", "/v1/motions/<motion_id>"), ("status", "404")))
    assert found[key] >= 1
    assert any(name == "mg_http_request_duration_seconds_count" for name, _ in found)


def test_live_state_is_read_at_scrape_time(client, auth):
    """Motions by status, queue depths and the POST budget come from SQL and Redis when scraped."""
    body = {"image_url": "https://i.example.com/a.png", "name": "n", "voice_id": "v", "model": "2.0"}
    for _ in range(3):
        client.post("/v1/motions", json=body, headers=auth)
    found = samples(client)
    assert found[("mg_motions", (("status", "queued"),))] == 3
    assert found[("mg_queue_depth", (("queue", "default"),))] == 1  # the three share one dispatch nudge
    assert ("mg_jogg_post_budget_size", ()) in found
    assert found[("mg_submissions_paused", (("reason", ""),))] == 0


def test_counts_what_happened_across_two_worker_processes(app, settings, session, make_caller):
    """Callbacks sent by two separate worker processes are all counted in one scrape."""
    from app.extensions import db
    from workers import jobs

    key = ("mg_callback_deliveries_total", (("attempt", "1"), ("outcome", "delivered")))
    before = samples(app.test_client()).get(key, 0)  # the metrics folder is shared by the whole test run
    with HTTPServer() as receiver:
        caller = session.get(Caller, make_caller()[0])
        body = {"image_url": "https://i.example.com/a.png", "voice_id": "v", "model": "2.0"}
        for i in range(6):  # one URL each: deliveries to one URL go one at a time, and burst workers do not wait
            receiver.expect_request(f"/hooks/{i}").respond_with_data("ok")
            url = receiver.url_for(f"/hooks/{i}").replace("localhost", "127.0.0.1")
            motion = create_motion(session, caller, {**body, "name": f"m{i}", "callback_url": url})
            transition(session, motion, Status.CANCELLED, "api")
            session.commit()
        with app.app_context():
            jobs.enqueue_due_deliveries()
            db.session.remove()
        workers = Processes(settings, {"CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"})
        try:
            for _ in range(2):
                workers.start("worker", "--queues", "callbacks", "--burst")
            wait_until(lambda: len(receiver.log) == 6, timeout=30)
            for proc in workers.running:
                proc.wait(timeout=30)
        finally:
            workers.stop_all()
    assert samples(app.test_client())[key] - before == 6
    counter_files = [f for f in os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]) if f.startswith("counter_")]
    assert len({re.sub(r"\D", "", f) for f in counter_files}) >= 3  # this process and the two worker processes
