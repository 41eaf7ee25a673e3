"""7. Credits: a mixed run's credits against a naive submit-everything path, weighted shares, pre-flight overhead.

Mixed run: three callers with weights 1:2:5 each send the same 80 requests (30 % a bad image or an unknown
voice, 20 % `reuse: true` copies of one of their good requests, 50 % good and distinct), all at once. Spent =
the sandbox's `credits_charged` over the run (JoggAI's own count). Naive = the same 240 requests POSTed straight
to the sandbox's add_motion (its rate limit lifted for that moment), in the same run: what a service calling
JoggAI directly pays. Shares: POSTs per caller while all three still had motions to submit.

Overhead: a backlog of 200 good motions drained at the scaled-down JoggAI rate, once with the workers started
with PREFLIGHT=false and once with pre-flight on; drain time = first motion created to last POST.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

from bench.notifications import create
from bench.stack import PY, RATE_LIMIT, RATE_WINDOW, SANDBOX_IMAGE, SANDBOX_VOICE, WORKERS

CALLERS = {"credits-w1": 1, "credits-w2": 2, "credits-w5": 5}
PER_CALLER = 80
BACKLOG = 200
TIMEOUT = 180


def requests_for(caller: str) -> list[dict]:
    """80 requests: 40 good, 12 too small, 12 unknown voice, 16 reuse copies of its good ones."""
    good = [{"image_url": SANDBOX_IMAGE + "600x800.png", "name": f"{caller}-{i}", "voice_id": SANDBOX_VOICE,
             "model": "2.0"} for i in range(40)]  # fmt: skip
    small = [{**good[0], "image_url": SANDBOX_IMAGE + "300x300.png", "name": f"{caller}-small-{i}"} for i in range(12)]
    voice = [{**good[0], "voice_id": "no-such-voice", "name": f"{caller}-voice-{i}"} for i in range(12)]
    reuse = [{**good[i], "reuse": True} for i in range(16)]
    return good + small + voice + reuse


def send(stack, caller: str, bodies: list[dict]) -> None:
    """POST each body to the gateway as this caller (8 at a time)."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda body: create(stack, caller, 1, json.dumps(body)), bodies))


def settled(stack, where: str) -> int:
    """Motions no longer waiting for anything on the gateway's side."""
    return int(stack.sql(f"SELECT count(*) FROM motions WHERE {where} AND status <> 'queued'"))


def naive(stack, bodies: list[dict]) -> int:
    """POST every request straight to the sandbox: the credits a direct caller would be charged."""
    stack.sandbox("POST", "/_sandbox/config", {"rate_limit": 100000})
    before = stack.sandbox("GET", "/_sandbox/stats")["credits_charged"]

    def post(body):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", stack.sandbox_port, timeout=30)
        payload = {k: v for k, v in body.items() if k != "reuse"} | {"name": "naive-" + body["name"]}
        conn.request("POST", "/v2/photo_avatar/add_motion", json.dumps(payload),
                     {"Content-Type": "application/json", "x-api-key": "sandbox-key"})  # fmt: skip
        conn.getresponse().read()
        conn.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, bodies))
    spent = stack.sandbox("GET", "/_sandbox/stats")["credits_charged"] - before
    stack.sandbox("POST", "/_sandbox/config", {"rate_limit": RATE_LIMIT})
    return spent


def shares(stack) -> dict:
    """POSTs per caller while all three still had motions to submit, against their weights' shares."""
    rows = stack.sql(
        "SELECT c.name, extract(epoch FROM m.submit_started_at) FROM motions m JOIN callers c ON c.id = m.caller_id "
        f"WHERE c.name IN ({','.join(repr(n) for n in CALLERS)}) AND m.submit_started_at IS NOT NULL"
    )
    posts = [(name, float(t)) for name, t in (line.split("|") for line in rows.splitlines())]
    all_busy_until = min(max(t for c, t in posts if c == name) for name in CALLERS)
    counts = {name: sum(1 for c, t in posts if c == name and t <= all_busy_until) for name in CALLERS}
    total, weight_sum = sum(counts.values()), sum(CALLERS.values())
    return {
        name: {"posts": counts[name], "share": round(counts[name] / total, 3),
               "weight_share": round(weight / weight_sum, 3),
               "off_by": round(abs(counts[name] / total - weight / weight_sum) / (weight / weight_sum), 3)}
        for name, weight in CALLERS.items()
    }  # fmt: skip


def mixed(stack, log) -> dict:
    """The mixed run: gateway credits against the naive path, and the weighted shares."""
    for name, weight in CALLERS.items():
        stack.callers[name] = json.loads(stack.flask("callers", "create", name))
        stack.sql(f"UPDATE callers SET weight = {weight} WHERE name = '{name}'")
    before = stack.sandbox("GET", "/_sandbox/stats")["credits_charged"]
    bodies = {name: requests_for(name) for name in CALLERS}
    log(f"credits: mixed run, {PER_CALLER} requests from each of {len(CALLERS)} callers (weights 1:2:5)")
    with ThreadPoolExecutor(len(CALLERS)) as pool:
        list(pool.map(lambda item: send(stack, *item), bodies.items()))
    where = f"caller_id IN (SELECT id FROM callers WHERE name IN ({','.join(repr(n) for n in CALLERS)}))"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and settled(stack, where) < PER_CALLER * len(CALLERS):
        time.sleep(0.5)
    spent = stack.sandbox("GET", "/_sandbox/stats")["credits_charged"] - before
    ledger = int(stack.sql(f"SELECT coalesce(sum(credits), 0) FROM motions WHERE {where}"))
    by_status = dict(line.split("|") for line in stack.sql(
        f"SELECT coalesce(error->>'code', CASE WHEN reused_from IS NOT NULL THEN 'reused' ELSE status END), count(*) "
        f"FROM motions WHERE {where} GROUP BY 1").splitlines())  # fmt: skip
    naive_spent = naive(stack, [body for group in bodies.values() for body in group])
    out = {
        "requests": PER_CALLER * len(CALLERS),
        "outcomes": {k: int(v) for k, v in by_status.items()},
        "credits_spent": spent,
        "credits_in_ledger": ledger,
        "credits_naive": naive_spent,
        "credit_saving": round(1 - spent / naive_spent, 3) if naive_spent else None,
        "shares": shares(stack),
    }
    out["worst_share_off_by"] = max(s["off_by"] for s in out["shares"].values())
    stack.quiesce()
    return out


def restart_workers(stack, preflight: bool) -> None:
    """Restart the worker processes and the clock with PREFLIGHT on or off."""
    for name in [f"worker{i}" for i in range(WORKERS)] + ["clock"]:
        stack.stop_process(name)
    extra = {"PREFLIGHT": "true" if preflight else "false"}
    for i in range(WORKERS):
        stack.spawn(f"worker{i}", [PY, "-m", "workers", "worker"], extra)
    stack.spawn("clock", [PY, "-m", "workers", "clock"], extra)
    time.sleep(2)


def drain(stack, log, preflight: bool) -> dict:
    """Seconds from the first of 200 motions created to the last one's POST, and where the time went."""
    restart_workers(stack, preflight)
    caller = f"drain-{'on' if preflight else 'off'}"
    stack.callers[caller] = json.loads(stack.flask("callers", "create", caller))
    log(f"credits: draining {BACKLOG} motions with pre-flight {'on' if preflight else 'off'}")
    body = {"image_url": SANDBOX_IMAGE + "600x800.png", "voice_id": SANDBOX_VOICE, "model": "2.0"}
    send(stack, caller, [{**body, "name": f"{caller}-{i}"} for i in range(BACKLOG)])
    where = f"caller_id = (SELECT id FROM callers WHERE name = '{caller}')"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if int(stack.sql(f"SELECT count(*) FROM motions WHERE {where} AND submit_started_at IS NOT NULL")) >= BACKLOG:
            break
        time.sleep(0.5)
    row = stack.sql(
        "SELECT extract(epoch FROM max(submit_started_at) - min(created_at)), "
        "extract(epoch FROM max(created_at) - min(created_at)), "
        "extract(epoch FROM min(submit_started_at) - min(created_at)), "
        "extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY preflight_at - created_at)), "
        "extract(epoch FROM max(preflight_at - created_at)) "
        f"FROM motions WHERE {where}"
    )
    span, intake, first_post, check_p50, check_max = (v or "0" for v in row.split("|"))
    stack.quiesce()
    return {"seconds": round(float(span), 2), "intake_seconds": round(float(intake), 2),
            "first_post_after": round(float(first_post), 3), "check_p50_s": round(float(check_p50), 3),
            "check_max_s": round(float(check_max), 3)}  # fmt: skip


def run(stack, log) -> dict:
    """Both parts, the figures for docs/BENCHMARKS.md."""
    out = {"mixed": mixed(stack, log)}
    off, on = drain(stack, log, False), drain(stack, log, True)
    restart_workers(stack, True)
    ideal = (BACKLOG / RATE_LIMIT - 1) * RATE_WINDOW
    out["drain"] = {"preflight_off": off, "preflight_on": on, "ideal_seconds": round(ideal, 2),
                    "preflight_overhead": round(on["seconds"] / off["seconds"] - 1, 4)}  # fmt: skip
    out["credit_saving"] = out["mixed"]["credit_saving"]
    out["worst_share_off_by"] = out["mixed"]["worst_share_off_by"]
    out["preflight_overhead"] = out["drain"]["preflight_overhead"]
    return out
