"""EXPLAIN (ANALYZE, BUFFERS) of every query the API and the clock run, at the scale benchmark's size.

`python -c "from bench.plans import main; main()"` with the stack's settings (and BENCH_SCALE_KEY, the measured
caller's API key): it runs each request and clock task once in-process while recording every statement sent,
then explains each distinct statement with its parameters in a transaction it rolls back. It prints one JSON
document: the statements with a sequential scan of a table over SEQ_SCAN_ROWS rows (`seq_scan_count` counts those
whose scan was selective, the findings), the slowest statements, and the file holding every plan.
"""

import json
import os
import re
import tempfile
import time
from datetime import timedelta

from sqlalchemy import event, text

from app import create_app, jobs
from app.domain import preflight, retention
from app.extensions import db
from app.models.types import utcnow

SEQ_SCAN_ROWS = 10_000  # a sequential scan of a table this large is a finding
INSERT = re.compile(r"\bINSERT\s+INTO\b", re.IGNORECASE)
MOTION_BODY = {"name": "plan", "voice_id": "en-US-JennyNeural", "model": "2.0"}  # the image: the sandbox's


class Recorder:
    """Every statement the engine sends while a label is set: (label, statement, parameters)."""

    def __init__(self, engine):
        self.label, self.seen = None, []
        event.listen(engine, "before_cursor_execute", self.record)

    def record(self, _conn, _cursor, statement, parameters, _context, executemany):
        if self.label and not executemany:
            self.seen.append((self.label, statement, parameters))


def api_calls(client, key: str, motion_id: str) -> dict:
    """The caller's reads and one POST (the quota's sums run at intake), labelled."""
    caller = {"Authorization": f"Bearer {key}"}
    ops = {"Authorization": f"Bearer {os.environ['OPS_TOKEN']}"}
    motion = {**MOTION_BODY, "image_url": os.environ["JOGG_BASE_URL"] + "/_sandbox/images/600x800.png"}
    return {
        "GET /v1/motions/{id}": lambda: client.get(f"/v1/motions/{motion_id}", headers=caller),
        "GET /v1/motions": lambda: client.get("/v1/motions", headers=caller),
        "GET /v1/motions?status=failed": lambda: client.get("/v1/motions?status=failed", headers=caller),
        "GET /v1/motions?external_id=": lambda: client.get("/v1/motions?external_id=order-1", headers=caller),
        "GET /v1/motions/{id}/events": lambda: client.get(f"/v1/motions/{motion_id}/events", headers=caller),
        "GET /v1/motions/{id}/deliveries": lambda: client.get(f"/v1/motions/{motion_id}/deliveries", headers=caller),
        "GET /v1/events": lambda: client.get("/v1/events", headers=caller),
        "GET /v1/usage": lambda: client.get("/v1/usage", headers=caller),
        "POST /v1/motions (with a quota)": lambda: client.post("/v1/motions", json=motion, headers=caller),
        "GET /ops/data.json": lambda: client.get("/ops/data.json", headers=ops),
    }


def clock_tasks(app) -> dict:
    """The clock's timetable, pre-flight's pick, retention (rolled back) and the credits report, labelled."""
    tasks = {task.name: task.function for task in jobs.schedule(app.config["SETTINGS"])}
    tasks["preflight pick"] = lambda: preflight.next_unchecked(db.session, 64, 64)
    tasks["retention count"] = lambda: retention.count(db.session, timedelta(days=30))
    tasks["retention purge batch"] = lambda: _rolled_back(retention.purge_motion_batch, timedelta(days=29))
    tasks["retention expired batch"] = lambda: _rolled_back(retention.purge_expired_batch, timedelta(days=29))
    runner = app.test_cli_runner()
    tasks["credits report"] = lambda: runner.invoke(args=["credits", "report", "--since", "30d", "--format", "json"])
    return tasks


def _rolled_back(purge, age: timedelta):
    now = utcnow()
    try:
        return purge(db.session, now - age, now, 1000, retention.new_counts())
    finally:
        db.session.rollback()


def explain(connection, statement: str, parameters) -> dict:
    """The statement's plan, run and rolled back; sequential scans of large tables picked out."""
    cursor = connection.cursor()
    try:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0][0]
    finally:
        connection.rollback()
    return plan


def seq_scans(node: dict, sizes: dict) -> list[dict]:
    """Sequential scans of tables over SEQ_SCAN_ROWS rows in a plan: rows read, rows kept, and whether selective.

    A selective scan keeps under a tenth of what it reads: an index would have found those rows. One that keeps
    most of a large table (a report over every motion of the period) reads what it needs.
    """
    found = []
    if node.get("Node Type") == "Seq Scan" and sizes.get(node.get("Relation Name"), 0) > SEQ_SCAN_ROWS:
        loops = node.get("Actual Loops", 1)
        kept = node.get("Actual Rows", 0) * loops
        read = kept + node.get("Rows Removed by Filter", 0) * loops
        found.append({"table": node["Relation Name"], "table_rows": sizes[node["Relation Name"]], "rows_read": read,
                      "rows_kept": kept, "selective": read > SEQ_SCAN_ROWS and kept < read / 10})  # fmt: skip
    for child in node.get("Plans", []):
        found += seq_scans(child, sizes)
    return found


def main() -> None:
    app = create_app()
    with app.app_context():
        recorder = Recorder(db.engine)
        key = os.environ["BENCH_SCALE_KEY"]
        scale_id = db.session.scalar(text("SELECT id FROM callers WHERE name = 'scale'"))
        motion_id = db.session.scalar(text(f"SELECT id FROM motions WHERE caller_id = {scale_id} LIMIT 1"))
        quota = "quota_credits = 100000000, quota_period = 'month'"
        db.session.execute(text(f"UPDATE callers SET {quota} WHERE id = {scale_id}"))
        db.session.commit()
        client = app.test_client()
        work = {**api_calls(client, key, motion_id), **clock_tasks(app)}
        failed, answers = {}, {}
        for label, run in work.items():
            recorder.label = label
            try:
                answer = run()
                if hasattr(answer, "status_code"):
                    answers[label] = answer.status_code
            except Exception as exc:  # noqa: BLE001  (the statements sent before it still count)
                failed[label] = f"{type(exc).__name__}: {exc}"[:200]
            db.session.rollback()
        recorder.label = None
        db.session.execute(text(f"UPDATE callers SET quota_credits = NULL, quota_period = NULL WHERE id = {scale_id}"))
        db.session.commit()
        sizes = dict(
            db.session.execute(text("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'")).all()
        )
        db.session.rollback()
        print(json.dumps({**report(db.engine, recorder.seen, sizes), "answers": answers, "failed": failed}))


def report(engine, seen: list, sizes: dict) -> dict:
    """Explain each distinct (task, statement) once; the findings, the slowest, and where the plans went."""
    queries, done = [], set()
    plans_file = tempfile.NamedTemporaryFile("w", prefix="mg_plans_", suffix=".txt", delete=False)
    raw = engine.raw_connection()
    try:
        for label, statement, parameters in seen:
            words = statement.split(None, 1)[0].upper()
            inserts = words == "WITH" and INSERT.search(statement)  # intake's motion and its history in one statement
            if words not in ("SELECT", "UPDATE", "DELETE", "WITH") or inserts or (label, statement) in done:
                continue  # an INSERT of one row has nothing to plan, and run again it would clash with the first
            done.add((label, statement))
            started = time.perf_counter()
            try:
                plan = explain(raw, statement, parameters)
            except Exception as exc:  # noqa: BLE001  (one statement that cannot run twice does not stop the rest)
                queries.append({"task": label, "sql": " ".join(statement.split())[:160], "error": str(exc)[:200]})
                continue
            scans = seq_scans(plan["Plan"], sizes)
            queries.append({"task": label, "sql": " ".join(statement.split())[:160],
                            "ms": round(plan["Execution Time"], 2), "seq_scans": scans,
                            "explain_ms": round((time.perf_counter() - started) * 1000, 1)})  # fmt: skip
            plans_file.write(f"-- {label}\n{statement}\n{json.dumps(parameters, default=str)}\n")
            plans_file.write(json.dumps(plan, indent=1) + "\n\n")
    finally:
        raw.close()
        plans_file.close()
    flagged = [q for q in queries if q.get("seq_scans")]
    selective = [q for q in flagged if any(scan["selective"] for scan in q["seq_scans"])]
    return {"queries": len(queries), "seq_scan_count": len(selective), "seq_scans": flagged,
            "slowest": sorted((q for q in queries if "ms" in q), key=lambda q: -q["ms"])[:8],
            "errors": [q for q in queries if "error" in q], "plans_file": plans_file.name}  # fmt: skip
