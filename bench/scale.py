"""5. Scale: 10,000,000 motions in PostgreSQL; GET one, GET the first page, one sweep with 10,000 due, every plan."""

import http.client
import json
import os
import random
import subprocess
import time

from bench import load
from bench.stack import PY, ROOT

ROWS = int(os.environ.get("BENCH_SCALE_ROWS", "10000000"))  # fewer for a quick look; the targets are for 10M
CHUNK, GETS, PAGES = 1_000_000, 1000, 500
WARM = 50  # requests of each kind sent first on the measured connection and not counted
DUE = 10_000  # issue 16: one sweep with 10,000 due under 1 s at 10M rows
SPACING_MS = 259  # 10M motions created over the last 30 days: about 333,000 a day, 33,000 per caller
# The measured caller is every tenth motion; its motions carry the rows the reads and the clock touch.
LOADED = (
    "motions",
    "idempotency_keys",
    "motion_events",
    "notification_events",
    "deliveries",
    "delivery_attempts",
    "jogg_events",
)

CALLERS = """
INSERT INTO callers (name, api_key_hash, api_key_prefix, webhook_secret, active, created_at, updated_at)
SELECT 'filler-' || g, md5('filler' || g) || md5('x' || g), 'mgw_f' || g, 'whsec_x', true, now(), now()
FROM generate_series(1, 9) g;
"""

# One chunk of motions: 96% completed, 3% failed, 1% cancelled, each with its JoggAI id, credits and content key;
# the last 24 h of them with their Idempotency-Key (kept that long, then purged by the sweep).
MOTIONS = """
SET session_replication_role = replica;
INSERT INTO motions (id, caller_id, status, image_url, name, voice_id, model, priority, callback_url, jogg_motion_id,
                     avatar_id, preview_url, error, submit_attempts, poll_count, created_at, updated_at, dispatched_at,
                     submit_started_at, submitted_at, completed_at, credits, charged_at, preflight_at, reuse,
                     content_key)
SELECT 'mot_' || substr(md5(g::text), 1, 24), c.id, s.status, 'https://img.example.com/' || (g % 5000) || '.png',
       'scale ' || g, 'en-US-JennyNeural', '2.0', 'normal',
       CASE WHEN g % 10 = 0 THEN 'https://hooks.example.com/cb' END,
       CASE WHEN s.status <> 'cancelled' THEN 'j' || substr(md5('j' || g), 1, 31) END,
       CASE WHEN s.status = 'completed' THEN 100000 + g END,
       CASE WHEN s.status = 'completed' THEN 'https://cdn.example.com/motions/' || g || '.mp4' END,
       CASE WHEN s.status = 'failed' THEN '{{"code": "jogg_failed"}}'::jsonb END,
       1, 2, t.at, t.at + interval '90 seconds', t.at + interval '1 second', t.at + interval '1 second',
       t.at + interval '2 seconds', t.at + interval '90 seconds',
       CASE WHEN s.status <> 'cancelled' THEN 20 END, CASE WHEN s.status <> 'cancelled' THEN t.at + interval '2 seconds' END,
       t.at, false, md5('content' || g)
FROM generate_series({lo}, {hi}) g
CROSS JOIN LATERAL (SELECT now() - g * interval '{spacing} milliseconds' AS at) t
CROSS JOIN LATERAL (SELECT CASE WHEN g / 10 % 100 < 3 THEN 'failed' WHEN g / 10 % 100 = 3 THEN 'cancelled'
                                ELSE 'completed' END AS status) s
JOIN callers c ON c.name = CASE WHEN g % 10 = 0 THEN 'scale' ELSE 'filler-' || (g % 10) END;
INSERT INTO idempotency_keys (caller_id, key, request_hash, motion_id, response_status, response_body, locked_at,
                              created_at, expires_at)
SELECT c.id, 'key-' || g, md5('request' || g), 'mot_' || substr(md5(g::text), 1, 24), 202, '{{}}', t.at, t.at,
       t.at + interval '24 hours'
FROM generate_series({lo}, least({hi}, 86400000 / {spacing})) g
CROSS JOIN LATERAL (SELECT now() - g * interval '{spacing} milliseconds' AS at) t
JOIN callers c ON c.name = CASE WHEN g % 10 = 0 THEN 'scale' ELSE 'filler-' || (g % 10) END;
"""  # fmt: skip

# The measured caller's motions (every tenth) in this chunk: history (queued, processing, final), two callback
# events with their deliveries and one attempt each, one JoggAI webhook each; ids derived from g.
CHILDREN = """
SET session_replication_role = replica;
INSERT INTO motion_events (id, motion_id, at, from_status, to_status, source)
SELECT {base} + g / 10 * 3 + n, 'mot_' || substr(md5(g::text), 1, 24), now() - g * interval '{spacing} milliseconds' + n * interval '45 seconds',
       (ARRAY[NULL, 'queued', 'processing'])[n + 1],
       (ARRAY['queued', 'processing', CASE WHEN g / 10 % 100 < 3 THEN 'failed' WHEN g / 10 % 100 = 3 THEN 'cancelled'
                                          ELSE 'completed' END])[n + 1],
       (ARRAY['api', 'worker', 'webhook'])[n + 1]
FROM generate_series({lo} + 9, {hi}, 10) g CROSS JOIN generate_series(0, 2) n;
INSERT INTO notification_events (id, public_id, caller_id, motion_id, type, sequence, data, created_at)
SELECT {base} + g / 10 * 2 + n, 'evt_' || substr(md5('e' || g || n), 1, 24), {scale}, 'mot_' || substr(md5(g::text), 1, 24),
       (ARRAY['motion.processing', 'motion.completed'])[n + 1], n + 1,
       jsonb_build_object('id', 'mot_' || substr(md5(g::text), 1, 24)),
       now() - g * interval '{spacing} milliseconds' + n * interval '45 seconds'
FROM generate_series({lo} + 9, {hi}, 10) g CROSS JOIN generate_series(0, 1) n;
INSERT INTO deliveries (id, public_id, event_id, caller_id, motion_id, sequence, url, status, attempts, next_attempt_at,
                        created_at, finished_at)
SELECT id, 'dlv_' || substr(public_id, 5), id, caller_id, motion_id, sequence, 'https://hooks.example.com/cb',
       'delivered', 1, NULL, created_at, created_at + interval '1 second'
FROM notification_events WHERE id BETWEEN {base} + ({lo} + 9) / 10 * 2 AND {base} + {hi} / 10 * 2 + 1;
INSERT INTO delivery_attempts (id, delivery_id, at, status_code, duration_ms)
SELECT id, id, created_at + interval '1 second', 204, 40
FROM notification_events WHERE id BETWEEN {base} + ({lo} + 9) / 10 * 2 AND {base} + {hi} / 10 * 2 + 1;
INSERT INTO jogg_events (event, event_id, jogg_motion_id, raw_body, state, duplicates, attempts, received_at,
                         processed_at)
SELECT 'generated_photo_avatar_success', 'evt-' || g, 'j' || substr(md5('j' || g), 1, 31),
       convert_to('{{"event": "generated_photo_avatar_success"}}', 'UTF8'), 'processed', 0, 1,
       now() - g * interval '{spacing} milliseconds' + interval '90 seconds',
       now() - g * interval '{spacing} milliseconds' + interval '91 seconds'
FROM generate_series({lo} + 9, {hi}, 10) g WHERE g / 10 % 100 <> 3;
"""  # fmt: skip

BASE = 1_000_000_000
SEQUENCES = ("motion_events", "notification_events", "deliveries", "delivery_attempts", "jogg_events")

SWEEP = """
import json, time
from sqlalchemy import text
from app import create_app
from app.extensions import db
from app import jobs
from app.domain import tracking
app = create_app()
with app.app_context():
    db.session.execute(text("SELECT 1")); db.session.rollback()
    t0 = time.perf_counter(); due = jobs.enqueue_due_polls(); t1 = time.perf_counter()
    jobs.sweep(); t2 = time.perf_counter()
print(json.dumps({"due_enqueued": due, "poll_jobs": -(-due // tracking.POLL_BATCH),
                  "enqueue_due_polls_ms": (t1 - t0) * 1000, "sweep_ms": (t2 - t1) * 1000}))
"""


def secondary_indexes(sql) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the loaded tables' indexes other than primary keys."""
    names = ", ".join(f"'{t}'" for t in LOADED)
    rows = sql(
        "SELECT i.indexname || '|' || i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        f"AND i.tablename IN ({names}) AND i.indexname NOT LIKE 'pk\\_%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    )
    return [tuple(line.split("|", 1)) for line in rows.splitlines() if line]


def fill(sql, scale_id: int, rows: int, log) -> dict:
    """Load `rows` motions in chunks, the measured caller's rows besides; indexes dropped and rebuilt around it.

    Building an index once over sorted rows takes a fraction of inserting millions of random keys one by one;
    the rebuilt indexes are the migrations' own (read back from pg_indexes).
    """
    indexes = secondary_indexes(sql)
    sql(CALLERS)
    sql("; ".join(f"DROP INDEX {name}" for name, _ in indexes))
    started = time.monotonic()
    for lo in range(1, rows + 1, CHUNK):
        hi = min(lo + CHUNK - 1, rows)
        sql(MOTIONS.format(lo=lo, hi=hi, spacing=SPACING_MS), timeout=1800)
        sql(CHILDREN.format(lo=lo, hi=hi, spacing=SPACING_MS, scale=scale_id, base=BASE), timeout=1800)
        log(f"scale: {hi:,} motions after {time.monotonic() - started:.0f} s")
    loaded = time.monotonic()
    sql("SET maintenance_work_mem = '512MB'; " + "; ".join(definition for _, definition in indexes), timeout=3600)
    for table in SEQUENCES:
        sql(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
    indexed = time.monotonic()
    sql("VACUUM ANALYZE", timeout=3600)
    # The load's own writes flushed now, not by a checkpoint spread over the minutes the reads are timed in.
    sql("CHECKPOINT", timeout=3600)
    return {
        "load_seconds": round(loaded - started, 1),
        "index_seconds": round(indexed - loaded, 1),
        "analyze_seconds": round(time.monotonic() - indexed, 1),
        "indexes_rebuilt": len(indexes),
    }


def timed_gets(port: int, key: str, paths: list[str], warm: int = WARM) -> dict:
    """Sequential GETs over one keep-alive connection; the first `warm` of them (same paths) are not counted.

    The warm-up goes through the measured connection, so to the gunicorn worker and database connection that
    serve the timed requests (a warm-up on a connection of its own could land on the other worker).
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}"}
    for path in paths[:warm]:
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
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
            "p99_ms": round(load.percentile(latencies, 99), 2), "max_ms": round(max(latencies), 2),
            "errors": errors, "load_average": round(os.getloadavg()[0], 1)}  # fmt: skip


def table_rows(sql) -> dict:
    """Rows per loaded table (the planner's estimate after ANALYZE)."""
    names = ", ".join(f"'{t}'" for t in LOADED)
    out = sql(f"SELECT relname || '|' || reltuples::bigint FROM pg_class WHERE relname IN ({names})")
    return {name: int(n) for name, n in (line.split("|") for line in out.splitlines())}


def run(stack, log) -> dict:
    scale_id = int(stack.sql("SELECT id FROM callers WHERE name = 'scale'"))
    # The clock stays stopped until the end: while the indexes are down its pre-flight and dispatch picks would
    # scan the growing table every second, and the sweep below is timed without it.
    stack.stop_process("clock")
    log(f"scale: generating {ROWS:,} motions with INSERT ... SELECT generate_series, {CHUNK:,} at a time")
    started = time.monotonic()
    out = {"fill": fill(stack.sql, scale_id, ROWS, log)}
    out["generate_seconds"] = round(time.monotonic() - started, 1)
    out["tables"] = table_rows(stack.sql)
    out["rows"] = out["tables"]["motions"]
    out["disk_mb"] = int(stack.sql(f"SELECT pg_database_size('{stack.db}') / 1048576"))
    ids = stack.sql(f"SELECT id FROM motions WHERE caller_id = {scale_id} ORDER BY random() LIMIT {GETS}").split()
    random.shuffle(ids)
    key = stack.key("scale")
    log(f"scale: {GETS} sequential GET /v1/motions/{{id}}, {PAGES} GET /v1/motions")
    out["get_one"] = timed_gets(stack.web_port, key, [f"/v1/motions/{i}" for i in ids])
    out["first_page"] = timed_gets(stack.web_port, key, ["/v1/motions"] * PAGES)
    out["events"] = timed_gets(stack.web_port, key, [f"/v1/motions/{i}/events" for i in ids[:PAGES]])
    log(f"scale: one sweep with {DUE:,} due motions (clock stopped)")
    # housekeeping: the webhook benchmark's events for unknown JoggAI motions are parked; they are not what this measures
    stack.sql("UPDATE jogg_events SET state = 'ignored' WHERE state = 'parked'")
    stack.sql(
        "UPDATE motions SET status = 'processing', completed_at = NULL, preview_url = NULL, "
        "next_poll_at = now() - interval '1 minute', submitted_at = now() - interval '5 minutes' "
        f"WHERE id IN (SELECT id FROM motions WHERE caller_id = {scale_id} ORDER BY created_at DESC LIMIT {DUE})"
    )
    out["sweep"] = in_app(stack, SWEEP)
    out["sweep"]["total_ms"] = round(out["sweep"]["enqueue_due_polls_ms"] + out["sweep"]["sweep_ms"], 1)
    # housekeeping: the motions made due go back to completed, so the 200 poll jobs the sweep enqueued check nothing
    # (left due, their 10,000 status checks kept the workers from the next sections' pre-flight and submissions)
    stack.sql(
        "UPDATE motions SET status = 'completed', completed_at = now(), next_poll_at = NULL "
        f"WHERE caller_id = {scale_id} AND status = 'processing'"
    )
    log("scale: EXPLAIN (ANALYZE, BUFFERS) of every query the API and the clock run")
    try:
        plans = in_app(stack, "from bench.plans import main; main()", timeout=1200, extra={"BENCH_SCALE_KEY": key})
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:  # the figures above stand without it
        plans = {"error": str(exc)[-2000:]}
    out["plans"] = plans
    stack.start_clock()
    return out


def in_app(stack, code: str, timeout: float = 300, extra: dict | None = None) -> dict:
    """Run code in a fresh process with the stack's settings; its last line of output is a JSON document."""
    env = {**stack.env(), **(extra or {})}
    proc = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"in-app run failed: {proc.stderr[-2000:]}")
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in found.items()}
