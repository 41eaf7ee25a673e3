"""5. Scale: 1,000,000 motions in PostgreSQL; GET one, GET the first page, one sweep with 1,000 due."""

import http.client
import json
import random
import subprocess
import time

from bench import load
from bench.stack import PY, ROOT

ROWS, GETS, PAGES = 1_000_000, 1000, 500

FILL = """
INSERT INTO callers (name, api_key_hash, api_key_prefix, webhook_secret, active, created_at, updated_at)
SELECT 'filler-' || g, md5('filler' || g) || md5('x' || g), 'mgw_f' || g, 'whsec_x', true, now(), now()
FROM generate_series(1, 9) g;
INSERT INTO motions (id, caller_id, status, image_url, name, voice_id, model, priority, jogg_motion_id, avatar_id,
                     preview_url, submit_attempts, poll_count, created_at, updated_at, submitted_at, completed_at)
SELECT 'mot_' || substr(md5(g::text), 1, 24),
       CASE WHEN g % 10 = 0 THEN {scale} ELSE (SELECT id FROM callers WHERE name = 'filler-' || (g % 10)) END,
       'completed', 'https://img.example.com/a.png', 'scale ' || g, 'v', '2.0', 'normal',
       'j' || substr(md5('j' || g), 1, 31), 100000 + g, 'https://cdn.sandbox.invalid/motions/' || g || '.mp4', 1, 0,
       now() - g * interval '50 milliseconds', now() - g * interval '50 milliseconds',
       now() - g * interval '50 milliseconds', now() - g * interval '50 milliseconds'
FROM generate_series(1, {rows}) g;
"""

SWEEP = """
import json, time
from sqlalchemy import text
from app import create_app
from app.extensions import db
from app import jobs
app = create_app()
with app.app_context():
    db.session.execute(text("SELECT 1")); db.session.rollback()
    t0 = time.perf_counter(); due = jobs.enqueue_due_polls(); t1 = time.perf_counter()
    jobs.sweep(); t2 = time.perf_counter()
print(json.dumps({"due_enqueued": due, "enqueue_due_polls_ms": (t1 - t0) * 1000, "sweep_ms": (t2 - t1) * 1000}))
"""


def timed_gets(port: int, key: str, paths: list[str]) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}"}
    latencies, errors = [], 0
    for path in paths:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        answer.read()
        latencies.append((time.perf_counter() - started) * 1000)
        errors += answer.status != 200
    conn.close()
    return {"requests": len(paths), "p50_ms": round(load.percentile(latencies, 50), 2),
            "p99_ms": round(load.percentile(latencies, 99), 2), "errors": errors}  # fmt: skip


def run(stack, log) -> dict:
    scale_id = stack.sql("SELECT id FROM callers WHERE name = 'scale'")
    log(f"scale: generating {ROWS:,} motions with INSERT ... SELECT generate_series")
    started = time.monotonic()
    stack.sql(FILL.format(scale=scale_id, rows=ROWS), timeout=900)
    stack.sql("ANALYZE")
    out = {
        "rows": int(stack.sql("SELECT count(*) FROM motions")),
        "generate_seconds": round(time.monotonic() - started, 1),
    }
    ids = stack.sql(f"SELECT id FROM motions WHERE caller_id = {scale_id} ORDER BY random() LIMIT {GETS}").split()
    random.shuffle(ids)
    key = stack.key("scale")
    log(f"scale: {GETS} sequential GET /v1/motions/{{id}}, {PAGES} GET /v1/motions")
    timed_gets(stack.web_port, key, [f"/v1/motions/{i}" for i in ids[:50]])  # warm-up
    out["get_one"] = timed_gets(stack.web_port, key, [f"/v1/motions/{i}" for i in ids])
    out["first_page"] = timed_gets(stack.web_port, key, ["/v1/motions"] * PAGES)
    log("scale: one sweep with 1,000 due motions (clock stopped)")
    stack.stop_process("clock")
    # housekeeping: the webhook benchmark's events for unknown JoggAI motions are parked; they are not what this measures
    stack.sql("UPDATE jogg_events SET state = 'ignored' WHERE state = 'parked'")
    stack.sql(
        "UPDATE motions SET status = 'processing', completed_at = NULL, preview_url = NULL, "
        "next_poll_at = now() - interval '1 minute', submitted_at = now() - interval '5 minutes' "
        f"WHERE id IN (SELECT id FROM motions WHERE caller_id = {scale_id} ORDER BY created_at DESC LIMIT 1000)"
    )
    proc = subprocess.run([PY, "-c", SWEEP], cwd=ROOT, env=stack.env(), capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"sweep run failed: {proc.stderr[-2000:]}")
    sweep = json.loads(proc.stdout.strip().splitlines()[-1])
    out["sweep"] = {k: round(v, 1) if isinstance(v, float) else v for k, v in sweep.items()}
    out["sweep"]["total_ms"] = round(sweep["enqueue_due_polls_ms"] + sweep["sweep_ms"], 1)
    stack.start_clock()
    return out
