"""3. Notification latency: sandbox webhook sent -> caller's receiver gets motion.completed.

The sandbox's webhook goes to a relay in the bench process, which stamps its arrival (time.time())
and forwards the same bytes to the gateway's /webhooks/jogg. The callback receiver, in the same
process and on the same clock, stamps each motion.completed. Latency = callback arrival - webhook
arrival at the relay: it covers the gateway's receipt, the jogg_event job (status check against the
sandbox over HTTP, transition, notification), the delivery job and the signed callback POST.
"""

import http.client
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench import load
from bench.intake import BODY

MOTIONS, TIMEOUT = 200, 120
ITEM = json.loads(BODY)


def create(stack, caller: str, count: int, body: str | None = None) -> list[str]:
    """POST `count` motions for `caller`: `body` each, or by default the bench body with a name of its own.

    Real callers name their avatars; one name shared by thousands would make every submission page through
    JoggAI's whole list of that name (the evidence read before each POST, app.domain.doubt).
    """
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.key(caller)}"}
    run = uuid.uuid4().hex[:8]

    def one(i):
        conn = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=30)
        sent = body if body is not None else json.dumps({**ITEM, "name": f"{caller}-{run}-{i}"}, separators=(",", ":"))
        conn.request("POST", "/v1/motions", body=sent, headers=headers)
        answer = conn.getresponse()
        data = json.loads(answer.read())
        conn.close()
        if answer.status != 202:
            raise RuntimeError(f"POST /v1/motions answered {answer.status}: {data}")
        return data["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def run(stack, log) -> dict:
    rec = stack.recorder
    log(f"notifications: {MOTIONS} motions with callbacks (sandbox motions take 1 s, JoggAI window 20 per 2 s)")
    ids = set(create(stack, "notify", MOTIONS))
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with rec.lock:
            done = {m for _t, c, kind, m in rec.callbacks if c == "notify" and kind == "motion.completed"} & ids
        if len(done) >= MOTIONS:
            break
        time.sleep(0.5)
    rows = stack.sql(f"SELECT id, jogg_motion_id FROM motions WHERE id IN ({','.join(repr(i) for i in ids)})")
    jogg = dict(line.split("|") for line in rows.splitlines() if line.split("|")[1])
    with rec.lock:
        arrivals = {m: t for t, c, kind, m in rec.callbacks if c == "notify" and kind == "motion.completed"}
        sent = dict(rec.webhooks)
    latencies = [(arrivals[m] - sent[jogg[m]]) * 1000 for m in ids if m in arrivals and jogg.get(m) in sent]
    stack.quiesce()
    return {
        "motions": MOTIONS,
        "measured": len(latencies),
        "callbacks_received": sum(1 for _t, c, _k, _m in rec.callbacks if c == "notify"),
        "completed_callbacks": len(arrivals),
        "webhooks_relayed": len(sent),
        "motions_with_jogg_id": len(jogg),
        "p50_ms": round(load.percentile(latencies, 50), 1),
        "p99_ms": round(load.percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
    }
