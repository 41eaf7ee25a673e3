"""4. JoggAI budget and fairness: 300 motions from three callers (200/80/20) against a 20-per-2-s window.

POST times are each motion's submit_started_at (committed just before the POST). The backlog lasts
from the first POST to the last. Slots available in that span = L * (span / W + 1) for a window of
L POSTs per W seconds (the last window counted whole); the share used = POSTs / slots available.
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
        "SELECT c.name, extract(epoch FROM m.submit_started_at) FROM motions m JOIN callers c ON c.id = m.caller_id "
        f"WHERE m.{where} AND m.submit_started_at IS NOT NULL ORDER BY m.submit_started_at"
    )
    posts = [(name, float(t)) for name, t in (line.split("|") for line in rows.splitlines())]
    after = stack.sandbox("GET", "/_sandbox/stats")
    first, last = posts[0][1], posts[-1][1]
    available = RATE_LIMIT * ((last - first) / RATE_WINDOW + 1)
    last_by = {n: max(t for c, t in posts if c == n) for n in SPLIT if any(c == n for c, _ in posts)}
    all_busy_until = min(last_by.values())
    counts = [sum(1 for c, t in posts if c == n and t <= all_busy_until) for n in SPLIT]
    times = [t for _c, t in posts]
    steady = last - times[min(RATE_LIMIT, len(times)) - 1]  # from the L-th POST to the last
    reuse = sorted((times[i + RATE_LIMIT] - times[i] - RATE_WINDOW) * 1000 for i in range(len(times) - RATE_LIMIT))
    stack.quiesce()
    return {
        "motions": total,
        "posted": len(posts),
        "backlog_seconds": round(last - first, 2),
        "ideal_seconds": round((total / RATE_LIMIT - 1) * RATE_WINDOW, 2),
        "slot_share_used": round(len(posts) / available, 3),
        "responses_429": after.get("responses_429", 0) - before.get("responses_429", 0),
        "posts_per_caller_while_all_busy": dict(zip(SPLIT, counts, strict=True)),
        "jain_fairness": round(jain(counts), 3),
        # how long after its window ended each slot was used again (the POST's answer, then the settle, date it)
        "slot_reuse_delay_ms": {p: round(reuse[int(len(reuse) * p / 100)], 1) for p in (10, 50, 90)} if reuse else {},
        # from the first POST to the L-th: the first window's spread is carried by every later window
        "first_window_spread_ms": round((times[min(RATE_LIMIT, len(times)) - 1] - first) * 1000, 1),
        # for information: the same share from the L-th POST on, the start of the backlog left out
        "slot_share_after_first_window": round((len(times) - RATE_LIMIT) / (RATE_LIMIT * steady / RATE_WINDOW), 3)
        if steady > 0
        else None,
    }
