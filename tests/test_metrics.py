"""GET /metrics: counts from every process, live state at scrape time."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from app.domain.motions import create_motion
from app.domain.transitions import transition
from app.models import Caller, Status
from tests.jogg_fixtures import Processes, wait_until

ROOT = Path(__file__).resolve().parents[1]


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
    from app import jobs
    from app.extensions import db

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


def start_metric_writers(folder, count: int) -> list:
    """Start processes that import app.metrics on `folder` together, count one sweep each, and stay alive."""
    code = "import sys; from app import metrics; metrics.SWEEPS.inc(); print('ready', flush=True); sys.stdin.read()"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == b"ready"
    return procs


def sweeps_counted(folder) -> float:
    """mg_sweep_runs_total as a scrape of this folder would report it."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    return registry.get_sample_value("mg_sweep_runs_total") or 0.0


@pytest.mark.parametrize("setting", [None, ""])
def test_the_default_folder_belongs_to_the_deployment_not_to_the_host(setting):
    """PROMETHEUS_MULTIPROC_DIR unset or empty: a fresh process uses the checkout's instance/metrics."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if setting is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = setting
    code = "import os, app.metrics as m; print(m.FOLDER.resolve()); print(os.environ['PROMETHEUS_MULTIPROC_DIR'])"
    ran = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    folder, told = (Path(line) for line in ran.stdout.splitlines())
    assert folder == told.resolve() and folder.is_dir()
    assert folder == (ROOT / "instance" / "metrics").resolve()  # the checkout's own, wherever it was cloned
    assert folder != Path(tempfile.gettempdir(), "motion-gateway-metrics").resolve()  # the old shared default


def test_a_start_from_a_clean_state_empties_the_folder(tmp_path):
    """Files left by processes that are gone (an earlier run, another deployment's leftovers) are removed."""
    from app.metrics import claim_folder

    dead = 2**22 + 12345  # above Linux's pid_max default: no such process
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db", f"live_{dead}.pid"):
        (tmp_path / name).write_bytes(b"old")
    assert claim_folder(tmp_path, os.getpid()) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", f"live_{os.getpid()}.pid"]


def test_a_process_joining_a_running_deployment_keeps_what_is_counted(tmp_path):
    """While another process of the deployment lives, its files and the dead ones' counters stay; dead claims go."""
    from app.metrics import claim_folder

    dead = 2**22 + 12345
    writers = start_metric_writers(tmp_path, 1)
    (tmp_path / f"counter_{dead}.db").write_bytes(b"counted by a recycled worker")
    (tmp_path / f"live_{dead}.pid").touch()
    try:
        assert claim_folder(tmp_path, 2**22 + 1) is False
        names = {p.name for p in tmp_path.iterdir()}
        assert f"counter_{dead}.db" in names and f"live_{dead}.pid" not in names
        assert f"live_{writers[0].pid}.pid" in names and f"counter_{writers[0].pid}.db" in names
    finally:
        for proc in writers:
            proc.communicate(timeout=30)


def test_processes_starting_together_empty_stale_files_once_and_lose_nothing(tmp_path):
    """Four processes start at once on a folder with another run's counts: the old count goes, all four are kept."""
    (stale,) = start_metric_writers(tmp_path, 1)
    stale.communicate(timeout=30)  # an earlier run, now stopped, counted one sweep
    assert sweeps_counted(tmp_path) == 1
    writers = start_metric_writers(tmp_path, 4)
    try:
        assert sweeps_counted(tmp_path) == 4
        pids = {int(re.sub(r"\D", "", f.name)) for f in tmp_path.glob("counter_*.db")}
        assert pids == {proc.pid for proc in writers}
    finally:
        for proc in writers:
            proc.communicate(timeout=30)


def test_metrics_show_only_this_deployments_processes(tmp_path, client):
    """A process of another deployment (another folder) counting sweeps does not appear in this one's scrape."""
    before = samples(client).get(("mg_sweep_runs_total", ()), 0)
    writers = start_metric_writers(tmp_path / "other-deployment", 1)
    try:
        assert sweeps_counted(tmp_path / "other-deployment") == 1
        assert samples(client).get(("mg_sweep_runs_total", ()), 0) == before
    finally:
        for proc in writers:
            proc.communicate(timeout=30)
