"""`python -m bench [--only intake,webhooks,...]`: run the benchmarks, write bench/results.json and docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

from bench.load import ensure_wrk
from bench.stack import RATE_LIMIT, RATE_WINDOW, WORKERS, Stack

ROOT = Path(__file__).resolve().parent.parent
RESULTS, REPORT = ROOT / "bench" / "results.json", ROOT / "docs" / "BENCHMARKS.md"
ORDER = ["intake", "webhooks", "notifications", "budget", "scale", "credits", "capacity", "failover", "memory"]

# (benchmark, label, path into its figures, comparison, target, unit)
TARGETS = [
    ("intake", "intake throughput vs baseline (workers held, as the baseline's)", "throughput_ratio", ">=", 0.7, "x"),
    ("intake", "intake, 3 workers running (no target)", "throughput_ratio_workers_running", None, None, "x"),
    ("intake", "batch of 100: motions/s vs single requests", "batch_vs_single", ">=", 10, "x"),
    ("intake", "intake p99 at 100 req/s", "p99_ms_at_100rps", "<", 50, "ms"),
    ("webhooks", "webhook p99 at 200 req/s", "p99_ms_at_200rps", "<", 25, "ms"),
    ("webhooks", "webhook throughput vs baseline (no target)", "throughput_ratio", None, None, "x"),
    ("notifications", "notification latency p50", "p50_ms", "<", 100, "ms"),
    ("notifications", "notification latency p99", "p99_ms", "<", 500, "ms"),
    ("budget", "share of POST slots used, JoggAI's window 20/60 s", "slot_share_at_jogg_window", ">=", 0.98, ""),
    ("budget", "429s received, JoggAI's window", "responses_429_at_jogg_window", "==", 0, ""),
    ("budget", "share of POST slots, window 30x shorter (20/2 s; no target)", "slot_share_used", None, None, ""),
    ("budget", "the same after its first window (no target)", "slot_share_after_first_window", None, None, ""),
    ("budget", "429s received, window 30x shorter", "responses_429", "==", 0, ""),
    ("budget", "Jain's fairness (all three busy)", "jain_fairness", ">=", 0.95, ""),
    ("scale", "GET /v1/motions/{id} p99 (10M rows)", "get_one.p99_ms", "<", 10, "ms"),
    ("scale", "GET /v1/motions first page p99 (10M rows)", "first_page.p99_ms", "<", 30, "ms"),
    ("scale", "sweep with 10,000 due (enqueue_due_polls + sweep, 10M rows)", "sweep.total_ms", "<", 1000, "ms"),
    ("scale", "queries reading a large table for a few rows (10M rows)", "plans.seq_scan_count", "==", 0, ""),
    ("credits", "credits saved vs submit-everything (mixed run)", "credit_saving", ">=", 0.4, ""),
    ("credits", "worst weighted share, off its weight by", "worst_share_off_by", "<=", 0.1, ""),
    ("credits", "pre-flight overhead draining 200 at JoggAI's rate (bound)", "preflight_overhead", "<=", 0.01, ""),
    ("credits", "pre-flight overhead, 200 at 10x rate (no target)", "preflight_overhead_scaled", None, None, ""),
    ("credits", "pre-flight overhead, 60 at 20/20 s (no target)", "preflight_overhead_window_20s", None, None, ""),
    ("credits", "first POST later with pre-flight by (no target)", "first_post_later_by_s", None, None, "s"),
    ("capacity", "submissions/s, one worker process, pre-flight on (no target)", "submissions_per_s", None, None, "/s"),
    ("capacity", "webhook events/s, one worker process (no target)", "events_per_s", None, None, "/s"),
    ("capacity", "callbacks/s, one worker process (no target)", "callbacks_per_s", None, None, "/s"),
    ("failover", "SENTINEL FAILOVER to the first submission after", "first_submission_after_s", "<", 10, "s"),
    ("memory", "peak RSS, web worker", "web_worker_mb", "<", 120, "MB"),
    ("memory", "peak RSS, RQ worker process", "rq_worker_mb", "<", 150, "MB"),
]
COMPARE = {">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def dig(figures: dict, path: str):
    for part in path.split("."):
        if not isinstance(figures, dict) or part not in figures:
            return None
        figures = figures[part]
    return figures


def command_version(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = int(
        next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
    }


def versions() -> dict:
    out = {
        "python": platform.python_version(),
        "postgresql": command_version(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"]),
        "redis": command_version(["redis-cli", "-n", "12", "INFO", "server"]).split(":")[-1]
        if False else next((ln.split(":")[1].strip() for ln in subprocess.run(
            ["redis-cli", "-n", "12", "INFO", "server"], capture_output=True, text=True, timeout=10).stdout.splitlines()
            if ln.startswith("redis_version")), "unknown"),
        "wrk": command_version(["wrk", "-v"]),
    }  # fmt: skip
    for package in ("flask", "gunicorn", "sqlalchemy", "psycopg", "rq", "redis", "limits", "requests"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "absent"
    return out


def verdicts(benchmarks: dict) -> list[dict]:
    rows = []
    for bench, label, path, op, target, unit in TARGETS:
        value = dig(benchmarks.get(bench, {}), path)
        if value is None or value != value:  # absent or NaN
            value, status = None, "not measured"
        elif op is None:
            status = "(for information)"
        else:
            status = "met" if COMPARE[op](value, target) else "short of target"
        rows.append({"benchmark": bench, "figure": _measured_at(label, benchmarks.get(bench, {})), "value": value,
                     "unit": unit,
                     "target": None if op is None else f"{op} {target}{' ' + unit if unit and unit != 'x' else ''}",
                     "status": status})  # fmt: skip
    return rows


def _measured_at(label: str, figures: dict) -> str:
    """A scale label names the rows the run really loaded (BENCH_SCALE_ROWS may have made it fewer than 10M)."""
    rows = figures.get("rows")
    if "10M rows" not in label or not isinstance(rows, int) or rows >= 9_500_000:
        return label
    return label.replace("10M rows", f"{rows / 1e6:.1f}M rows, not the 10M of the target")


def table(rows: list[dict]) -> str:
    lines = ["| figure | measured | target | |", "|---|---|---|---|"]
    for r in rows:
        value = "—" if r["value"] is None else f"{r['value']}{' ' + r['unit'] if r['unit'] not in ('', 'x') else ''}"
        lines.append(f"| {r['figure']} | {value} | {r['target'] or '—'} | {r['status']} |")
    return "\n".join(lines)


def report(results: dict) -> str:
    b = results["benchmarks"]
    rows = results["verdicts"]
    short = [r for r in rows if r["status"] == "short of target"]
    m, v = results["machine"], results["versions"]
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`; `--only intake,webhooks` runs a subset and merges it into the",
        "last results). Raw figures: `bench/results.json`. Every speed figure is a latency or a ratio measured in the",
        "same run as its baseline. Nothing here is asserted by the test suite.",
        "",
        f"Last run: {results['finished_at']} UTC, wall time {results['wall_seconds']} s"
        f"{' (subset: ' + ', '.join(results['ran']) + ')' if results['ran'] != ORDER else ''}.",
        "",
        "## Results",
        "",
        table(rows),
        "",
    ]
    if short:
        parts += ["**Short of target:** " + "; ".join(f"{r['figure']} ({r['value']} {r['unit']}, target {r['target']})"
                                                       for r in short) + ".", ""]  # fmt: skip
    analysis = ROOT / "bench" / "ANALYSIS.md"
    if analysis.exists():
        parts += [analysis.read_text().rstrip(), ""]
    errors = results.get("errors") or {}
    if errors:
        parts += [
            "**Benchmarks that failed to run:** " + "; ".join(f"{k}: {e.splitlines()[-1]}" for k, e in errors.items()),
            "",
        ]
    parts += [
        "## Machine and versions",
        "",
        f"- {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB memory, Linux {m['kernel']}; everything (load generator,",
        "  service, baseline, PostgreSQL, Redis, sandbox) on this one machine, over 127.0.0.1.",
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
        "## What is run",
        "",
        "The service as deployed: gunicorn with `gunicorn.conf.py` (2 gthread workers x 16 threads, access log on),",
        f"{WORKERS} `python -m workers worker` processes, one `python -m workers clock`, PostgreSQL (a throwaway",
        "`mg_bench_<random>` database, dropped at the end) and Redis database 12 (flushed before and after), and the",
        "JoggAI sandbox (`python -m sandbox`) over HTTP with motions taking 1 s. `APP_ENV=production`, `LOG_LEVEL=WARNING`,",
        "other settings at their defaults (so the workers run at `WORKER_NICENESS=0`, the clock dispatches every 0.05 s;",
        "pre-flight is on: every request names the sandbox's test image `600x800.png` and a voice of its library, with",
        "`IMAGE_ALLOWED_NETWORKS=127.0.0.0/8`. The last `credits` run was a subset run; the other benchmarks' figures",
        "below are from their last run, before pre-flight was wired into the workflow).",
        f"The JoggAI window is scaled down to {RATE_LIMIT} POSTs per {RATE_WINDOW} s, in the sandbox and in",
        "`JOGG_POST_RATE_LIMIT` alike, for every benchmark but capacity and failover (items 7 and 8).",
        "",
        "The baseline (`bench/baseline_app.py`) runs under the same gunicorn config against the same PostgreSQL and",
        "Redis and does the bare minimum per request: one INSERT into a table of its own and one RQ enqueue (nobody",
        "consumes that queue), no validation, no auth, no signature check. Both `/v1/motions` and `/webhooks/jogg`",
        "map to that.",
        "",
        "Between benchmarks the bench does housekeeping in SQL/Redis so leftovers do not load the next one: queued",
        "motions are cancelled, and whatever the workers have not drained after 20 s is dropped (the queue lists",
        "deleted, webhook events marked ignored), then the busy tables are vacuumed and analysed (this PostgreSQL",
        "runs with autovacuum off). How much was left is in `results.json`",
        "(`*_left`).",
        "",
        "1. **Intake.** `wrk -t2 -c32 -d10s` POSTs the same valid motion (bearer key) to the service and to the",
        "   baseline: throughput ratio = service req/s / baseline req/s. Nothing runs the jobs the baseline enqueues, so",
        "   the service's RQ workers and clock are held (SIGSTOP, then SIGCONT) for its run: two request paths compared;",
        "   the same run with them going (pre-flight downloads, submissions on the same 2 cores) is reported beside it.",
        "   Batch: `wrk -t2 -c16 -d10s` POSTs 100 such motions a request to `/v1/motions/batch`, right after the single",
        "   requests with the workers still held; motions/s over the single-request req/s. Each closed-loop run starts",
        "   after a `CHECKPOINT`, so the run before's writes are not flushed during it. Then a fixed 100 req/s for 15 s from an",
        "   open-loop generator (Python threads over keep-alive connections; request *i* is due at start + i/rate and its",
        "   latency counts from that due time, so stalls are not hidden by coordinated omission), workers running.",
        "2. **Webhook receipt.** The same with JoggAI webhooks: each request a fresh `generated_motion_success` event",
        "   (unique `event_id`, correct `X-Webhook-Signature`) for a JoggAI motion the gateway does not know (so each",
        "   is stored and the event-processing job parks it); 200 req/s open loop for 15 s.",
        "3. **Notification latency.** 200 motions from a caller whose callback URL is a receiver in the bench process.",
        "   The sandbox's webhook goes to a relay in the bench process that stamps its arrival and forwards the same",
        "   bytes to `/webhooks/jogg`; latency = arrival of `motion.completed` at the receiver - arrival of the",
        "   sandbox's webhook at the relay (one clock). It covers receipt, the event-processing job (status check against",
        "   the sandbox), the transition, the delivery job and the signed callback POST; it includes the relay's hop.",
        "   `stages_ms` in `results.json` (no target) splits it per motion at the rows' timestamps: webhook stored,",
        "   processed (stamped after the notification and delivery rows are built, so the stage after it is negative),",
        "   `motion.completed` created, delivery created, callback arrival; p50 and p90 of each.",
        "4. **Budget and fairness.** 300 motions from three callers (200/80/20), created at once. POST time = each",
        "   motion's `submit_started_at`. Share used = N W / (N W + idle slot-seconds): the i-th POST's slot frees W",
        "   after the (i-L)-th (the first L at the first ready motion) and counts as idle from the later of that and",
        "   the i-th ready motion (pre-flight passed) until the POST (`bench/budget.py`). 429s = the sandbox's",
        "   `responses_429` counter over the run. Jain's index over POSTs per caller up to the first caller's last",
        "   POST (while all three had work). The target's figure is a second run at JoggAI's own window: 100 motions",
        "   (60/30/10) with the workers and clock restarted at `JOGG_POST_RATE_LIMIT=20 per 60 seconds` and the",
        "   sandbox's `rate_window_seconds` at 60 (a minute's pause first, so no earlier POST counts in it). The",
        "   idle slot-seconds hardly depend on W (each reuse waits for its POST's answer, which dates the slot, then",
        "   for the next job; the first window for the burst), so the 20-per-2-s run weighs each of them 30x more",
        "   than JoggAI's rate does; it stays in the table for the chain's own figures (`post_to_answer_ms`, reuse).",
        "5. **Scale.** 10,000,000 motions (10 callers, 1,000,000 for the measured one; 96% completed, 3% failed,",
        "   1% cancelled, created over the last 30 days, with JoggAI ids, credits and content keys) added with",
        "   `INSERT ... SELECT generate_series`, 1,000,000 at a time, the secondary indexes dropped before and rebuilt",
        "   after (the migrations' own definitions), then `VACUUM ANALYZE` (this PostgreSQL runs with autovacuum off)",
        "   and a `CHECKPOINT`, so the reads are not timed while the load's writes are still being flushed; the last",
        "   24 h of them (333,590) keep their",
        "   `Idempotency-Key` rows, as the sweep purges them after 24 h. The measured caller's motions also have",
        "   what they would have in production: 3 history rows each, 2 callback events with a delivery and an attempt",
        "   each, a JoggAI webhook row each (about 10M rows besides the motions). 1,000 sequential",
        "   `GET /v1/motions/{id}` (random ids of that caller), 500 `GET /v1/motions` (first page, default limit) and",
        "   500 `GET /v1/motions/{id}/events`, each over one keep-alive connection to gunicorn (the deployed config: 2",
        "   workers x 16 threads) from the bench process, one request at a time, with the RQ workers, the sandbox and",
        "   the baseline app idle and the clock stopped; each kind after 50 requests of it on the same connection that",
        "   are not counted (a cold worker's first request took about 40 ms), `load_average` the machine's 1-minute",
        "   load when the kind was done. Sweep: the clock is stopped, 10,000 of the",
        "   caller's motions are set `processing` with `next_poll_at` in the past, then a fresh process times",
        "   `app.jobs.enqueue_due_polls()` plus `app.jobs.sweep()` in an app context (after one warm-up query; the",
        "   tick reads the 10,000 due ids, marks them waiting in one Redis script and enqueues them as poll jobs of 50,",
        "   reported as due_enqueued and poll_jobs). The",
        "   webhook benchmark's parked events are set `ignored` first, as they are not what this measures. Plans",
        "   (`bench/plans.py`): every statement the API's reads, a POST under a quota, `/ops/data.json`, each clock",
        "   task, pre-flight's pick, retention's count and purge batches (rolled back) and the credits report send",
        "   is recorded, then run again under `EXPLAIN (ANALYZE, BUFFERS)` and rolled back; a sequential scan of a",
        "   table over 10,000 rows that keeps under a tenth of the rows it reads is a finding (one that keeps most",
        "   of them, such as a report over every motion of the period, is listed but reads what it needs).",
        "6. **Credits.** A mixed run: three callers with weights 1:2:5 (set in SQL) each send 80 requests at once: 40",
        "   good (a sandbox test image, a sandbox voice), 12 with a 300x300 image, 12 with an unknown voice, 16 `reuse:",
        "   true` copies of their good ones. Spent = the sandbox's `credits_charged` over the run; naive = the same 240",
        "   requests POSTed straight to the sandbox (its rate limit lifted for it) in the same run; saving = 1 - spent /",
        "   naive. Shares: POSTs per caller while all three still had motions to submit, off = |share - weight share| /",
        "   weight share. Overhead: 200 good motions (each naming its own image address) drained with the workers and",
        "   clock restarted with `PREFLIGHT=false`, then with it on; drain = first created to last POST. The target",
        "   is pre-flight's share of a drain at JoggAI's real rate (20 a minute, ~9 min for 200), too long to run",
        "   twice: the time pre-flight added in the 10x run (on - off, at least 0: its later first POST plus any",
        "   moment the budget waited for checks) / (the off run's first POST + 9 x 60 s). An upper bound: at the real",
        "   rate pre-flight has ten times as long per slot, and the start costs the same. For information: on / off - 1",
        "   of the 10x run itself (~18 s of budget, so it is the start plus a few tenths of a second of noise), and a",
        "   direct run at a third of JoggAI's rate: 60 motions at 20 POSTs per 20 s (`JOGG_POST_RATE_LIMIT` of the",
        "   restarted workers and clock), off then on, on / off - 1.",
        "7. **Capacity.** What ONE RQ worker process works off per second, each kind drained from a backlog of",
        "   300 prepared with no worker running (the stack's workers and clock stopped; then one `python -m workers",
        "   worker`, as deployed). The JoggAI budget is lifted so it does not bind (the sandbox's rate limit and the",
        "   restarted processes' `JOGG_POST_RATE_LIMIT`: 100,000 per 2 s). Rate = (n - 1) / (last done - first",
        "   done); `per_s_from_start` counts from the worker's registration in Redis instead. Submissions: queued",
        "   motions, each naming its own image (pre-flight on, as deployed: a download each), with the clock",
        "   dispatching: pre-flight, POST to the sandbox, answer recorded (`submitted_at`); the sandbox sends no",
        "   webhooks meanwhile. Webhook events: a signed `generated_motion_success` for each of those motions",
        "   stored through `/webhooks/jogg`, then the worker alone: claim, status check against the sandbox,",
        "   transition to completed (`processed_at`). Callbacks: 300 queued motions of a caller with a callback URL",
        "   cancelled (a `motion.cancelled` delivery each), then the worker alone: the signed POST to a receiver in",
        "   the bench process answering 204 (its arrival there).",
        "8. **Failover.** A short run of `python -m chaos.sentinel_failover` on a stack of its own (a loopback",
        "   Sentinel group, its own database, sandbox, gunicorn, 3 workers, the clock): 60 motions over 6 s with the",
        "   budget binding (10 POSTs per 2 s), one `SENTINEL FAILOVER` after 20 submissions. Seconds from the",
        "   command to the first submission JoggAI accepted after the sentinels named the new master; the chaos",
        "   checks' verdict is in the figures (`checks_passed`).",
        "9. **Memory.** RSS sampled every 0.5 s over the whole run (plus VmHWM at the end) for the gunicorn workers,",
        "   the RQ worker processes (which run their jobs in-process).",
        "",
        "## Figures",
        "",
        "```json",
        json.dumps(b, indent=2),
        "```",
        "",
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default=",".join(ORDER), help="comma-separated subset of " + ",".join(ORDER))
    args = parser.parse_args(argv)
    chosen = [name for name in ORDER if name in args.only.split(",")]
    ensure_wrk(log)
    started = time.monotonic()
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() and chosen != ORDER else {}
    benchmarks = dict(previous.get("benchmarks", {}))
    errors = {}
    stack = Stack(log)
    try:
        log("starting the stack")
        stack.start()
        for name in chosen:
            t0 = time.monotonic()
            try:
                benchmarks[name] = importlib.import_module(f"bench.{name}").run(stack, log)
                benchmarks[name]["seconds"] = round(time.monotonic() - t0, 1)
                log(f"{name}: {json.dumps(benchmarks[name])}")
            except Exception:  # noqa: BLE001 - one failed benchmark must not lose the others
                errors[name] = traceback.format_exc()
                log(f"{name} FAILED:\n{errors[name]}")
    finally:
        log("stopping the stack")
        stack.stop()
    results = {
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "wall_seconds": round(time.monotonic() - started, 1),
        "ran": chosen,
        "machine": machine(),
        "versions": versions(),
        "benchmarks": benchmarks,
        "errors": errors,
    }
    results["verdicts"] = verdicts(benchmarks)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    REPORT.write_text(report(results))
    print(table(results["verdicts"]))
    print(f"wall time {results['wall_seconds']} s; wrote {RESULTS.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
