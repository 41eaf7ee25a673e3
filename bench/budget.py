"""4. JoggAI budget and fairness: 300 motions from three callers (200/80/20) against a 20-per-2-s window.

The share of POST slots used while a backlog waits. POST times are each motion's submit_started_at
(committed just before the POST). JoggAI's limit is a sliding window of L POSTs per W seconds, so the
i-th POST (in time order) can go no earlier than W after the (i-L)-th: that is when its slot frees.
A slot is idle while a backlog waits from the later of that instant and the moment an (i+1)-th motion
was ready to POST (its pre-flight passed, or it was created when pre-flight is off), until the i-th
POST; the first L slots are free from the start. share = N W / (N W + the idle slot-seconds): a
slot is counted from when it frees while a motion waits, not after the last POST (nothing waits
then; the earlier measure, L * (span / W + 1), counted the last window's idle tail whole and so
charged the first window's spread twice: `slot_share_packed_windows`, for information). Pre-flight's
own delay (a motion created, its image not yet checked) is the credits benchmark's figure; the share
counted from each motion's creation is `slot_share_from_creation`, for information.
Fairness: Jain's index (sum x)^2 / (n sum x^2) over the POSTs per caller made while all three still
had unsubmitted motions (until the first caller's last POST).
"""

import time
from concurrent.futures import ThreadPoolExecutor

from bench.notifications import create
from bench.stack import RATE_LIMIT, RATE_WINDOW

SPLIT = {"budget-a": 200, "budget-b": 80, "budget-c": 20}
TIMEOUT = 120


def jain(values: list[int]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if any(values) else 0.0


def idle_slot_seconds(times: list[float], ready: list[float]) -> list[float]:
    """Per POST, how long its slot stood free while a motion was ready to POST (times and ready sorted)."""
    idle = []
    for i, posted in enumerate(times):
        frees = times[i - RATE_LIMIT] + RATE_WINDOW if i >= RATE_LIMIT else ready[0]
        idle.append(max(0.0, posted - max(frees, ready[i])))
    return idle


def share(posted: int, idle: list[float]) -> float:
    """POSTs over POSTs plus the slots left idle while a backlog waited."""
    return round(posted * RATE_WINDOW / (posted * RATE_WINDOW + sum(idle)), 3) if posted else 0.0


def run(stack, log) -> dict:
    before = stack.sandbox("GET", "/_sandbox/stats")
    log("budget: creating 300 motions, 200/80/20 across three callers")
    # interleave creation so every caller has work from the first seconds
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda item: create(stack, item[0], item[1]), SPLIT.items()))
    total = sum(SPLIT.values())
    names = ",".join(f"'{n}'" for n in SPLIT)
    where = f"caller_id IN (SELECT id FROM callers WHERE name IN ({names}))"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if int(stack.sql(f"SELECT count(*) FROM motions WHERE {where} AND submitted_at IS NOT NULL")) >= total:
            break
        time.sleep(0.5)
    rows = stack.sql(
        "SELECT c.name, extract(epoch FROM m.submit_started_at), extract(epoch FROM m.created_at), "
        "extract(epoch FROM coalesce(m.preflight_at, m.created_at)) FROM motions m JOIN callers c ON c.id = m.caller_id "
        f"WHERE m.{where} ORDER BY m.submit_started_at"
    )
    table = [line.split("|") for line in rows.splitlines()]
    posts = [(name, float(t)) for name, t, _c, _r in table if t]
    created = sorted(float(c) for _n, _t, c, _r in table)
    ready = sorted(float(r) for _n, _t, _c, r in table)
    after = stack.sandbox("GET", "/_sandbox/stats")
    first, last = posts[0][1], posts[-1][1]
    available = RATE_LIMIT * ((last - first) / RATE_WINDOW + 1)
    last_by = {n: max(t for c, t in posts if c == n) for n in SPLIT if any(c == n for c, _ in posts)}
    all_busy_until = min(last_by.values())
    counts = [sum(1 for c, t in posts if c == n and t <= all_busy_until) for n in SPLIT]
    times = [t for _c, t in posts]
    steady = last - times[min(RATE_LIMIT, len(times)) - 1]  # from the L-th POST to the last
    idle = idle_slot_seconds([t for _c, t in posts], ready)
    idle_from_creation = idle_slot_seconds([t for _c, t in posts], created)
    reuse = sorted((times[i + RATE_LIMIT] - times[i] - RATE_WINDOW) * 1000 for i in range(len(times) - RATE_LIMIT))
    stack.quiesce()
    return {
        "motions": total,
        "posted": len(posts),
        "backlog_seconds": round(last - first, 2),
        "ideal_seconds": round((total / RATE_LIMIT - 1) * RATE_WINDOW, 2),
        "slot_share_used": share(len(posts), idle),
        "idle_slot_seconds": {
            "first_window": round(sum(idle[:RATE_LIMIT]), 2),
            "later": round(sum(idle[RATE_LIMIT:]), 2),
        },
        "slot_share_from_creation": share(len(posts), idle_from_creation),
        "slot_share_packed_windows": round(len(posts) / available, 3),
        "first_post_after_ready_ms": round((first - ready[0]) * 1000, 1),
        "responses_429": after.get("responses_429", 0) - before.get("responses_429", 0),
        "posts_per_caller_while_all_busy": dict(zip(SPLIT, counts, strict=True)),
        "jain_fairness": round(jain(counts), 3),
        # how long after its window ended each slot was used again (the POST's answer, then the settle, date it)
        "slot_reuse_delay_ms": {p: round(reuse[int(len(reuse) * p / 100)], 1) for p in (10, 50, 90)} if reuse else {},
        # from the first POST to the L-th: the first window's spread is carried by every later window
        "first_window_spread_ms": round((times[min(RATE_LIMIT, len(times)) - 1] - first) * 1000, 1),
        # for information: the first window, ms after the first motion was ready: the i-th ready, the i-th POST
        "first_window_ms": {
            name: [round((t - ready[0]) * 1000) for t in series[:RATE_LIMIT]]
            for name, series in (("ready", ready), ("posted", times))
        },
        "first_created_to_ready_ms": round((ready[0] - created[0]) * 1000, 1),
        # for information: the same share from the L-th POST on, the start of the backlog left out
        "slot_share_after_first_window": round((len(times) - RATE_LIMIT) / (RATE_LIMIT * steady / RATE_WINDOW), 3)
        if steady > 0
        else None,
    }
