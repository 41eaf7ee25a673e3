"""7. Capacity: submissions, JoggAI webhook events and callbacks one RQ worker process works off per second.

The stack's three workers and the clock are stopped; for each kind a backlog is prepared with no worker running,
then ONE worker (`python -m workers worker`, as deployed) is started and drains it. The JoggAI budget is lifted
so it does not bind: the sandbox's rate limit and the restarted processes' JOGG_POST_RATE_LIMIT are LIFTED POSTs
per RATE_WINDOW s. Rate = (items - 1) / (last done - first done): the worker's start and the first item's wait
are left out; per_s_from_start counts from the worker's registration in Redis (after its warm-up) instead, and
per_worker_cpu_s divides by the CPU time the worker process used (user + system), which the machine's load
does not stretch (on a busy machine the worker waits for the CPU).

(a) Submissions: BACKLOG motions (a caller without a callback URL; each names its own image address, so each
    pre-flight check is a download: pre-flight on, as deployed) created with no worker; then the clock and the
    worker: pre-flight, dispatch (the clock), POST to the sandbox and the answer recorded (`submitted_at`). The
    sandbox sends no webhooks meanwhile (its webhook_url emptied), so no event work mixes in.
(b) Webhook events: a signed `generated_motion_success` for each of those motions (as the sandbox sends it) is
    POSTed to /webhooks/jogg with no worker and no clock; then the worker alone: each stored event claimed, the
    status check against the sandbox, the transition to completed (`processed_at`).
(c) Callbacks: BACKLOG motions of a caller whose callback URL is the bench's receiver (204), created and
    cancelled with no worker and no clock (one `motion.cancelled` delivery each); then the worker alone: each
    signed POST to the receiver and its attempt recorded (arrival at the receiver).
"""

import hashlib
import hmac
import http.client
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.credits import send
from bench.stack import RATE_LIMIT, RATE_WINDOW, SANDBOX_IMAGE, SANDBOX_VOICE, WEBHOOK_SECRET, redis_cli

BACKLOG, LIFTED, TIMEOUT = 300, 100000, 120
CALLER, CALLBACK_CALLER = "capacity", "capacity-cb"


def run(stack, log) -> dict:
    """The three drains, then the stack's workers, clock and sandbox as they were."""
    extra = {"JOGG_POST_RATE_LIMIT": f"{LIFTED} per {RATE_WINDOW} seconds"}
    stack.sandbox("POST", "/_sandbox/config", {"rate_limit": LIFTED, "webhook_url": ""})
    stack.stop_workers()
    try:
        out = {"backlog": BACKLOG, "worker_processes": 1, "preflight": True,
               "submissions": submissions(stack, log, extra), "events": events(stack, log, extra),
               "callbacks": callbacks(stack, log, extra)}  # fmt: skip
    finally:
        stack.stop_workers()
        relay = f"http://127.0.0.1:{stack.recorder.port}/relay"
        stack.sandbox("POST", "/_sandbox/config", {"rate_limit": RATE_LIMIT, "webhook_url": relay})
        stack.start_workers()
        time.sleep(2)
    stack.quiesce()
    for kind in ("submissions", "events", "callbacks"):
        out[f"{kind}_per_s"] = out[kind]["per_s"]
    return out


def submissions(stack, log, extra: dict) -> dict:
    """(a) Queued motions -> pre-flight, dispatch, POST to the sandbox, answer recorded."""
    stack.callers[CALLER] = json.loads(stack.flask("callers", "create", CALLER))
    log(f"capacity: {BACKLOG} queued motions, pre-flight on, budget lifted; one worker and the clock")
    send(stack, CALLER, [{"image_url": f"{SANDBOX_IMAGE}600x800.png?motion=capacity-{i}", "voice_id": SANDBOX_VOICE,
                          "model": "2.0", "name": f"capacity-{i}"} for i in range(BACKLOG)])  # fmt: skip
    started = start_one_worker(stack, extra, clock=True)
    where = f"caller_id = (SELECT id FROM callers WHERE name = '{CALLER}')"
    wait_for(stack, f"SELECT count(*) FROM motions WHERE {where} AND submitted_at IS NOT NULL")
    times = epochs(stack, f"SELECT extract(epoch FROM submitted_at) FROM motions WHERE {where}")
    out = rates(stack, times, started)
    out["statuses"] = counts(stack, f"SELECT status, count(*) FROM motions WHERE {where} GROUP BY 1")
    out["work_left"] = stop_when_idle(stack)
    return out


def events(stack, log, extra: dict) -> dict:
    """(b) Stored webhook events -> claimed, status check against the sandbox, motion completed."""
    where = f"caller_id = (SELECT id FROM callers WHERE name = '{CALLER}') AND jogg_motion_id IS NOT NULL"
    jogg_ids = stack.sql(f"SELECT jogg_motion_id FROM motions WHERE {where}").split()
    log(f"capacity: {len(jogg_ids)} signed webhooks stored with no worker; then one worker alone")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda jogg_id: post_webhook(stack, jogg_id), jogg_ids))
    ids = ",".join(f"'{j}'" for j in jogg_ids)
    stored = int(stack.sql(f"SELECT count(*) FROM jogg_events WHERE state = 'received' AND jogg_motion_id IN ({ids})"))
    checks_before = stack.sandbox("GET", "/_sandbox/stats")["status_checks"]
    started = start_one_worker(stack, extra, clock=False)
    wait_for(stack, f"SELECT count(*) FROM jogg_events WHERE state <> 'received' AND jogg_motion_id IN ({ids})",
             len(jogg_ids))  # fmt: skip
    times = epochs(stack, f"SELECT extract(epoch FROM processed_at) FROM jogg_events WHERE jogg_motion_id IN ({ids})")
    checks = stack.sandbox("GET", "/_sandbox/stats")["status_checks"] - checks_before
    out = rates(stack, times, started)
    out["answers"] = {str(a): answers.count(a) for a in set(answers)}
    out["stored"], out["status_checks"] = stored, checks
    out["states"] = counts(stack, f"SELECT state, count(*) FROM jogg_events WHERE jogg_motion_id IN ({ids}) GROUP BY 1")
    out["motions"] = counts(stack, f"SELECT status, count(*) FROM motions WHERE {where} GROUP BY 1")
    out["work_left"] = stop_when_idle(stack)
    return out


def callbacks(stack, log, extra: dict) -> dict:
    """(c) Pending deliveries -> signed POST to the receiver (204), attempt recorded."""
    url = f"http://127.0.0.1:{stack.recorder.port}/cb/{CALLBACK_CALLER}"
    stack.callers[CALLBACK_CALLER] = json.loads(
        stack.flask("callers", "create", CALLBACK_CALLER, "--callback-url", url)
    )
    log(f"capacity: {BACKLOG} motions created and cancelled with no worker (a callback each); then one worker alone")
    ids = send_ids(stack, CALLBACK_CALLER, BACKLOG)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda motion_id: cancel(stack, CALLBACK_CALLER, motion_id), ids))
    where = f"caller_id = (SELECT id FROM callers WHERE name = '{CALLBACK_CALLER}')"
    pending = int(stack.sql(f"SELECT count(*) FROM deliveries WHERE {where} AND status = 'pending'"))
    started = start_one_worker(stack, extra, clock=False)
    wait_for(stack, f"SELECT count(*) FROM deliveries WHERE {where} AND finished_at IS NOT NULL", pending)
    with stack.recorder.lock:
        times = [t for t, caller, _kind, _m in stack.recorder.callbacks if caller == CALLBACK_CALLER]
    out = rates(stack, times, started)
    out["pending"] = pending
    out["deliveries"] = counts(stack, f"SELECT status, count(*) FROM deliveries WHERE {where} GROUP BY 1")
    out["work_left"] = stop_when_idle(stack)
    return out


def start_one_worker(stack, extra: dict, clock: bool) -> tuple[float, float]:
    """Start one worker (and the clock if asked); returns when it registered in Redis (after warm-up), its CPU then."""
    before = set(redis_cli("SMEMBERS", "rq:workers").split())
    stack.start_workers(1, extra, clock=clock)
    deadline = time.monotonic() + 60
    while not set(redis_cli("SMEMBERS", "rq:workers").split()) - before:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not register within 60 s")
        time.sleep(0.02)
    return time.time(), cpu_seconds(stack.procs["worker0"].pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_when_idle(stack, seconds: float = 15) -> dict:
    """Let the worker finish what its drain queued (nudges, hand-overs), then stop it and the clock."""
    deadline = time.monotonic() + seconds
    while sum(stack.queue_lengths().values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = stack.queue_lengths()
    stack.stop_workers()
    return left


def wait_for(stack, count_sql: str, want: int = BACKLOG) -> None:
    deadline = time.monotonic() + TIMEOUT
    while int(stack.sql(count_sql)) < want:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not drained within {TIMEOUT} s: {count_sql}")
        time.sleep(0.1)


def rates(stack, times: list[float], start: tuple[float, float]) -> dict:
    """Items a second from the first done to the last, from the worker's registration, and per CPU-second it used."""
    times, (started, cpu_before) = sorted(times), start
    span, cpu = times[-1] - times[0], cpu_seconds(stack.procs["worker0"].pid) - cpu_before
    return {
        "done": len(times),
        "drain_seconds": round(span, 2),
        "per_s": round((len(times) - 1) / span, 1) if span > 0 else None,
        "first_after_start_s": round(times[0] - started, 2),
        "per_s_from_start": round(len(times) / (times[-1] - started), 1),
        "worker_cpu_s": round(cpu, 2),
        "per_worker_cpu_s": round(len(times) / cpu, 1) if cpu > 0 else None,
    }


def epochs(stack, sql: str) -> list[float]:
    return [float(v) for v in stack.sql(sql).split() if v]


def counts(stack, sql: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split("|") for line in stack.sql(sql).splitlines())}


def send_ids(stack, caller: str, count: int) -> list[str]:
    """Create `count` motions as this caller; returns their ids."""
    send(stack, caller, [{"image_url": SANDBOX_IMAGE + "600x800.png", "voice_id": SANDBOX_VOICE, "model": "2.0",
                          "name": f"{caller}-{i}"} for i in range(count)])  # fmt: skip
    return stack.sql(
        f"SELECT id FROM motions WHERE caller_id = (SELECT id FROM callers WHERE name = '{caller}')"
    ).split()


def request(stack, method: str, path: str, body: bytes, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    status = conn.getresponse()
    status.read()
    conn.close()
    return status.status


def cancel(stack, caller: str, motion_id: str) -> int:
    headers = {"Authorization": f"Bearer {stack.key(caller)}", "Content-Type": "application/json"}
    status = request(stack, "POST", f"/v1/motions/{motion_id}/cancel", b"", headers)
    if status != 200:
        raise RuntimeError(f"cancel {motion_id} answered {status}")
    return status


def post_webhook(stack, jogg_id: str) -> int:
    """A signed generated_motion_success for this JoggAI motion, as the sandbox sends it."""
    body = json.dumps({"event_id": uuid.uuid4().hex, "event": "generated_motion_success",
                       "timestamp": int(time.time()),
                       "data": {"motion_id": jogg_id, "avatar_id": 1, "status": "completed",
                                "motion_preview_url": f"https://cdn.sandbox.invalid/motions/{jogg_id}.mp4",
                                "error": None}}, separators=(",", ":")).encode()  # fmt: skip
    headers = {"Content-Type": "application/json", "User-Agent": "JoggAI-Webhook/2.0",
               "X-Webhook-Event": "generated_motion_success",
               "X-Webhook-Signature": hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()}  # fmt: skip
    return request(stack, "POST", "/webhooks/jogg", body, headers)
