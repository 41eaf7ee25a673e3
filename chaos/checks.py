"""The pass conditions of a chaos scenario, read from SQL, Redis, the sandbox and the receiver."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from app.redis_connection import connect
from chaos.stack import Stack

QUEUES = ("jogg", "default", "callbacks")
# What the history says about submissions in doubt: flagged, found in JoggAI's list, adopted by a webhook, resubmitted.
DOUBT_ACTIONS = """
    SELECT CASE WHEN detail->>'action' IS NOT NULL THEN detail->>'action'
                WHEN detail->>'evidence' LIKE 'JoggAI''s photo-avatar list%%' THEN 'found in the list'
                ELSE 'adopted by its webhook' END,
           count(*)
    FROM motion_events
    WHERE detail->>'action' IN ('resubmitted', 'submission in doubt', 'waiting for an operator')
       OR detail->>'adopted' = 'true'
    GROUP BY 1
"""
TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class Snapshot:
    """Everything the checks look at, at one moment."""

    motions: dict[str, dict]
    sandbox: dict
    events: dict[str, str]  # notification event public id -> motion id
    received: set[str]
    queue_counts: dict[str, int]
    started: dict[str, int]
    scheduled: dict[str, int]
    orphan_started: int
    deliveries: Counter
    jogg_events: Counter
    doubt_actions: Counter


def exception_reason(m: dict) -> str | None:
    """Why a motion is not terminal although nothing is working on it: its submission is in doubt or interrupted.

    Both must have ended (with evidence, or by UNCERTAIN_POLICY after UNCERTAIN_GRACE) by the end of the drain.
    """
    if m["status"] != "queued":
        return None
    if m["submission_uncertain_at"] is not None:
        return "submission in doubt (add_motion answer lost), not resolved by the end of the drain"
    if m["submit_started_at"] is not None and m["jogg_motion_id"] is None:
        return "submission interrupted (submit_started_at set, no answer recorded, not flagged)"
    return None


def snapshot(stack: Stack) -> Snapshot:
    rows = stack.sql(
        "SELECT id, name, status, error, submission_uncertain_at, submit_started_at, jogg_motion_id FROM motions"
    )
    motions = {
        r[0]: dict(id=r[0], name=r[1], status=r[2], error=r[3], submission_uncertain_at=r[4],
                   submit_started_at=r[5], jogg_motion_id=r[6])
        for r in rows
    }  # fmt: skip
    doubt_actions = Counter(dict(stack.sql(DOUBT_ACTIONS)))
    events = dict(stack.sql("SELECT public_id, motion_id FROM notification_events"))
    deliveries = Counter(dict(stack.sql("SELECT status, count(*) FROM deliveries GROUP BY status")))
    jogg_events = Counter(dict(stack.sql("SELECT state, count(*) FROM jogg_events GROUP BY state")))
    conn = connect(stack.redis.url)  # a plain or a Sentinel URL
    queue_counts, started, scheduled = {}, {}, {}
    orphan = 0
    from rq.job import Job

    from app.queues import is_live

    for name in QUEUES:
        queue = Queue(name, connection=conn)
        queue_counts[name] = queue.count
        reg = StartedJobRegistry(name, connection=conn)
        live = 0
        for job_id in reg.get_job_ids(cleanup=False) if _takes_cleanup(reg) else reg.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:  # finished between the two reads
                continue
            if job is not None and is_live(job, conn):
                live += 1
            else:
                orphan += 1
        started[name] = live
        scheduled[name] = ScheduledJobRegistry(name, connection=conn).count
    return Snapshot(
        motions=motions, sandbox=stack.sandbox_stats(), events=events, received=stack.receiver.all_ids(),
        queue_counts=queue_counts, started=started, scheduled=scheduled, orphan_started=orphan,
        deliveries=deliveries, jogg_events=jogg_events, doubt_actions=doubt_actions,
    )  # fmt: skip


def _takes_cleanup(reg) -> bool:
    import inspect

    return "cleanup" in inspect.signature(reg.get_job_ids).parameters


def drained(s: Snapshot, expected_count: int) -> tuple[bool, str]:
    """Whether the run is finished: every motion terminal or an explained exception, nothing pending anywhere."""
    waiting = [m for m in s.motions.values() if m["status"] not in TERMINAL]  # in doubt too: it must end
    pending = {
        "motions not terminal": len(waiting),
        "motions missing": max(0, expected_count - len(s.motions)),
        "queued jobs": sum(s.queue_counts.values()),
        "running jobs": sum(s.started.values()),
        "webhook events waiting": s.jogg_events.get("received", 0),
        "deliveries pending": s.deliveries.get("pending", 0),
        "events not received": len(set(s.events) - s.received),
    }
    busy = {k: v for k, v in pending.items() if v}
    return not busy, ", ".join(f"{k}: {v}" for k, v in busy.items())


def wait_drained(stack: Stack, expected_count: int, timeout: float) -> tuple[Snapshot, float | None, str]:
    """Poll until drained or timeout; returns the last snapshot, seconds taken (None if never) and what was left."""
    start = time.monotonic()
    last = ""
    while True:
        snap = snapshot(stack)
        ok, last = drained(snap, expected_count)
        if ok:
            # settle: a delivery or duplicate webhook may still be in flight; look once more
            time.sleep(1.0)
            snap = snapshot(stack)
            ok, last = drained(snap, expected_count)
            if ok:
                return snap, time.monotonic() - start, ""
        if time.monotonic() - start > timeout:
            return snap, None, last
        time.sleep(1.0)


@dataclass
class Verdict:
    passed: bool
    failures: list[str] = field(default_factory=list)
    exceptions: dict[str, str] = field(default_factory=dict)  # motion id -> reason
    metrics: dict = field(default_factory=dict)


def judge(s: Snapshot, names: dict[str, str], api_statuses: Counter, allow_503: bool, left: str) -> Verdict:
    """Apply the pass conditions. names: motion id -> the name it was posted with."""
    v = Verdict(passed=True)
    sb = s.sandbox
    created = sb.get("motions_created_by_name", {})
    calls = sb.get("add_motion_calls_by_name", {})
    sb_by_name: dict[str, list[str]] = {}
    for rec in sb.get("motions", {}).values():
        sb_by_name.setdefault(rec["name"], []).append(rec["status"])

    wrong_status, double = [], []
    once: Counter = Counter()  # 0, 1 or 2 (more than once) motions JoggAI created per request
    for mid, name in names.items():
        m = s.motions.get(mid)
        if m is None:
            wrong_status.append(f"{name}: motion {mid} missing from SQL")
            continue
        reason = exception_reason(m)
        n_created = created.get(name, 0)
        if n_created > 1:
            double.append(f"{name}: JoggAI created {n_created} motions ({calls.get(name, 0)} add_motion calls)")
        once[min(n_created, 2)] += 1
        if reason:
            v.exceptions[mid] = f"{reason}; JoggAI created {n_created}"
            continue
        statuses = sb_by_name.get(name, [])
        if statuses:
            expected = statuses[0] if statuses[0] in ("completed", "failed") else f"(sandbox still {statuses[0]})"
        else:
            expected = "failed (jogg_unavailable or refused: JoggAI never created it)"
        ok = m["status"] == expected or (not statuses and m["status"] == "failed")
        if not ok:
            wrong_status.append(f"{name} ({mid}): gateway says {m['status']} {m['error'] or ''}, expected {expected}")
        if not statuses and m["status"] == "completed":
            wrong_status.append(f"{name}: completed but JoggAI never created it")

    missing_events = sorted(set(s.events) - s.received)
    api_500 = sum(n for code, n in api_statuses.items() if isinstance(code, int) and code >= 500 and code != 503)
    api_503 = api_statuses.get(503, 0)

    def fail(msg: str) -> None:
        v.passed = False
        v.failures.append(msg)

    if left:
        fail(f"did not drain: {left}")
    if wrong_status:
        fail(f"{len(wrong_status)} motions with a wrong/missing status, e.g. {wrong_status[:5]}")
    if double:
        fail(f"{len(double)} double submissions, e.g. {double[:5]}")
    if v.exceptions:
        fail(f"{len(v.exceptions)} motions still in doubt or interrupted after the drain")
    if missing_events:
        fail(f"receiver never got {len(missing_events)} events, e.g. {missing_events[:5]}")
    if api_500:
        fail(f"API answered {api_500} 5xx other than 503: {dict(api_statuses)}")
    if api_503 and not allow_503:
        fail(f"API answered {api_503} 503 outside a PostgreSQL outage")
    if sum(s.queue_counts.values()) or sum(s.started.values()) or sum(s.scheduled.values()):
        fail(f"queues not empty: queued {s.queue_counts} running {s.started} scheduled {s.scheduled}")
    if s.jogg_events.get("received", 0) or s.deliveries.get("pending", 0):
        fail(f"work left in SQL: webhook events {dict(s.jogg_events)}, deliveries {dict(s.deliveries)}")
    if s.deliveries.get("failed", 0) or s.deliveries.get("stopped", 0):
        fail(f"deliveries given up: {dict(s.deliveries)}")

    statuses = Counter(m["status"] for m in s.motions.values())
    v.metrics = {
        "statuses": dict(statuses),
        "exceptions": len(v.exceptions),
        "double_submissions": len(double),
        "jogg_created_per_request": {"once": once[1], "never": once[0], "more than once": once[2]},
        "in_doubt_or_interrupted": len(v.exceptions),
        "doubt_actions": dict(s.doubt_actions),
        "add_motion_calls": sb.get("add_motion_calls", 0),
        "jogg_created": sb.get("motions_created", 0),
        "events": len(s.events),
        "events_lost": len(missing_events),
        "callback_duplicates": None,  # filled by the caller from the receiver
        "api_statuses": {str(k): n for k, n in sorted(api_statuses.items(), key=lambda kv: str(kv[0]))},
        "orphan_started_entries": s.orphan_started,
        "jogg_events": dict(s.jogg_events),
        "deliveries": dict(s.deliveries),
        "sandbox_5xx": sb.get("responses_5xx", 0),
        "sandbox_hangs": sb.get("hangs", 0),
        "webhooks_dropped": sb.get("webhooks_dropped", 0),
        "webhooks_duplicated": sb.get("webhooks_duplicated", 0),
    }
    return v
