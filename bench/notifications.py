"""3. Notification latency: sandbox webhook sent -> caller's receiver gets motion.completed.

The sandbox's webhook goes to a relay in the bench process, which stamps its arrival (time.time())
and forwards the same bytes to the gateway's /webhooks/jogg. The callback receiver, in the same
process and on the same clock, stamps each motion.completed. Latency = callback arrival - webhook
arrival at the relay: it covers the gateway's receipt, the jogg_event job (status check against the
sandbox over HTTP, transition, notification), the delivery job and the signed callback POST.

`stages_ms` splits it per motion at the timestamps the gateway stores (same clock): the completing
webhook's jogg_events.received_at and processed_at, the motion.completed notification_events.created_at
and its deliveries.created_at. processed_at is stamped as the event is settled, after the notification
and delivery rows are built in the same transaction, so the two stages after it can come out negative.
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
STAGES = ["relay_to_stored", "stored_to_processed", "processed_to_notification", "notification_to_delivery",
          "delivery_to_callback"]  # fmt: skip


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


def stamps(stack, ids) -> dict[str, list[float]]:
    """Per motion: the stored and processed times of its completing webhook, its notification's and delivery's."""
    rows = stack.sql(
        "SELECT m.id, extract(epoch FROM e.received_at), extract(epoch FROM e.processed_at),"
        " extract(epoch FROM n.created_at), extract(epoch FROM min(d.created_at))"
        " FROM motions m JOIN jogg_events e ON e.jogg_motion_id = m.jogg_motion_id"
        " AND e.state = 'applied' AND e.outcome LIKE '%: completed'"
        " JOIN notification_events n ON n.motion_id = m.id AND n.type = 'motion.completed'"
        " JOIN deliveries d ON d.event_id = n.id"
        f" WHERE m.id IN ({','.join(repr(i) for i in ids)})"
        " GROUP BY m.id, e.received_at, e.processed_at, n.created_at"
    )
    return {m: [float(t) for t in rest] for m, *rest in (line.split("|") for line in rows.splitlines())}


def stages(timelines: list[list[float]]) -> dict[str, dict[str, float]]:
    """p50/p90 in ms of each consecutive stage of the timelines (relay arrival ... callback arrival) and of the total."""
    spans = {name: [(t[i + 1] - t[i]) * 1000 for t in timelines] for i, name in enumerate(STAGES)}
    spans["total"] = [(t[-1] - t[0]) * 1000 for t in timelines]
    pct = load.percentile
    return {name: {"p50": round(pct(v, 50), 1), "p90": round(pct(v, 90), 1)} for name, v in spans.items()}


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
    stored = stamps(stack, ids)
    timelines = [[sent[jogg[m]], *stored[m], arrivals[m]] for m in ids
                 if m in arrivals and jogg.get(m) in sent and m in stored]  # fmt: skip
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
        "stages_measured": len(timelines),
        "stages_ms": stages(timelines),
    }
