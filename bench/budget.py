"""4. JoggAI budget and fairness: 300 motions from three callers (200/80/20) against a 20-per-2-s window, then
100 (60/30/10) against JoggAI's own window, 20 per 60 s.

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
The idle slot-seconds hardly depend on W (each reuse of a slot waits for the POST's answer and the next job;
the first window for the burst's first checks and submissions), so the 30x shorter window makes each of them
weigh 30x more than at JoggAI's rate: the run at JoggAI's window (`at_jogg_window`, the workers and clock
restarted with `JOGG_POST_RATE_LIMIT=20 per 60 seconds`, the sandbox's window set to 60 s) is the target's figure.
Fairness: Jain's index (sum x)^2 / (n sum x^2) over the POSTs per caller made while all three still
had unsubmitted motions (until the first caller's last POST).
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

from bench.credits import restart_workers
from bench.notifications import create
from bench.stack import RATE_LIMIT, RATE_WINDOW

SPLIT = {"budget-a": 200, "budget-b": 80, "budget-c": 20}
JOGG_WINDOW = 60  # JoggAI's own window: 20 POSTs a minute
JOGG_SPLIT = {"window-a": 60, "window-b": 30, "window-c": 10}  # five windows of backlog at JoggAI's rate
TIMEOUT = 120


def jain(values: list[int]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if any(values) else 0.0


def idle_slot_seconds(times: list[float], ready: list[float], window: float = RATE_WINDOW) -> list[float]:
    """Per POST, how long its slot stood free while a motion was ready to POST (times and ready sorted)."""
    idle = []
    for i, posted in enumerate(times):
        frees = times[i - RATE_LIMIT] + window if i >= RATE_LIMIT else ready[0]
        idle.append(max(0.0, posted - max(frees, ready[i])))
    return idle


def share(posted: int, idle: list[float], window: float = RATE_WINDOW) -> float:
    """POSTs over POSTs plus the slots left idle while a backlog waited."""
    return round(posted * window / (posted * window + sum(idle)), 3) if posted else 0.0


def run(stack, log) -> dict:
    """The scaled-down run, then the run at JoggAI's window (its share is the target's figure)."""
    out = backlog(stack, log, SPLIT, RATE_WINDOW)
    out["at_jogg_window"] = at_jogg_window(stack, log)
    out["slot_share_at_jogg_window"] = out["at_jogg_window"]["slot_share_used"]
    out["responses_429_at_jogg_window"] = out["at_jogg_window"]["responses_429"]
    return out


def at_jogg_window(stack, log) -> dict:
    """The same backlog measure with the gateway and the sandbox at 20 POSTs per 60 s, then both back to the bench's."""
    time.sleep(JOGG_WINDOW)  # the sandbox's longer window must not count the POSTs of the runs before
    stack.sandbox("POST", "/_sandbox/config", {"rate_window_seconds": JOGG_WINDOW})
    restart_workers(stack, True, JOGG_WINDOW)
    for caller in JOGG_SPLIT:
        stack.callers[caller] = json.loads(stack.flask("callers", "create", caller))
    try:
        return backlog(stack, log, JOGG_SPLIT, JOGG_WINDOW)
    finally:
        stack.sandbox("POST", "/_sandbox/config", {"rate_window_seconds": RATE_WINDOW})
        restart_workers(stack, True)


def backlog(stack, log, split: dict[str, int], window: float) -> dict:
    """Create the split's motions at once and measure how the POST slots were used until all were POSTed."""
    before = stack.sandbox("GET", "/_sandbox/stats")
    log(f"budget: creating {sum(split.values())} motions, {'/'.join(map(str, split.values()))} across three callers, "
        f"{RATE_LIMIT} POSTs per {window:g} s")  # fmt: skip
    # interleave creation so every caller has work from the first seconds
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda item: create(stack, item[0], item[1]), split.items()))
    total = sum(split.values())
    names = ",".join(f"'{n}'" for n in split)
    where = f"caller_id IN (SELECT id FROM callers WHERE name IN ({names}))"
    deadline = time.monotonic() + TIMEOUT + total / RATE_LIMIT * window
    while time.monotonic() < deadline:
        if int(stack.sql(f"SELECT count(*) FROM motions WHERE {where} AND submitted_at IS NOT NULL")) >= total:
            break
        time.sleep(0.5)
    rows = stack.sql(
        "SELECT c.name, extract(epoch FROM m.submit_started_at), extract(epoch FROM m.created_at), "
        "extract(epoch FROM coalesce(m.preflight_at, m.created_at)), extract(epoch FROM m.submitted_at) "
        "FROM motions m JOIN callers c ON c.id = m.caller_id "
        f"WHERE m.{where} ORDER BY m.submit_started_at"
    )
    table = [line.split("|") for line in rows.splitlines()]
    posts = [(name, float(t)) for name, t, *_ in table if t]
    created = sorted(float(row[2]) for row in table)
    ready = sorted(float(row[3]) for row in table)
    answered = sorted((float(row[4]) - float(row[1])) * 1000 for row in table if row[1] and row[4])
    after = stack.sandbox("GET", "/_sandbox/stats")
    first, last = posts[0][1], posts[-1][1]
    available = RATE_LIMIT * ((last - first) / window + 1)
    last_by = {n: max(t for c, t in posts if c == n) for n in split if any(c == n for c, _ in posts)}
    all_busy_until = min(last_by.values())
    counts = [sum(1 for c, t in posts if c == n and t <= all_busy_until) for n in split]
    times = [t for _c, t in posts]
    steady = last - times[min(RATE_LIMIT, len(times)) - 1]  # from the L-th POST to the last
    idle = idle_slot_seconds([t for _c, t in posts], ready, window)
    idle_from_creation = idle_slot_seconds([t for _c, t in posts], created, window)
    reuse = sorted((times[i + RATE_LIMIT] - times[i] - window) * 1000 for i in range(len(times) - RATE_LIMIT))
    stack.quiesce()
    return {
        "motions": total,
        "posted": len(posts),
        "backlog_seconds": round(last - first, 2),
        "window_seconds": window,
        "ideal_seconds": round((total / RATE_LIMIT - 1) * window, 2),
        "slot_share_used": share(len(posts), idle, window),
        "idle_slot_seconds": {
            "first_window": round(sum(idle[:RATE_LIMIT]), 2),
            "later": round(sum(idle[RATE_LIMIT:]), 2),
        },
        "slot_share_from_creation": share(len(posts), idle_from_creation, window),
        "slot_share_packed_windows": round(len(posts) / available, 3),
        "first_post_after_ready_ms": round((first - ready[0]) * 1000, 1),
        "responses_429": after.get("responses_429", 0) - before.get("responses_429", 0),
        "posts_per_caller_while_all_busy": dict(zip(split, counts, strict=True)),
        "jain_fairness": round(jain(counts), 3),
        # how long after its window ended each slot was used again (the POST's answer, then the settle, date it)
        "slot_reuse_delay_ms": {p: round(reuse[int(len(reuse) * p / 100)], 1) for p in (10, 50, 90)} if reuse else {},
        # from the attempt's record to JoggAI's answer stored: a slot is dated by the answer, so each reuse carries it
        "post_to_answer_ms": {p: round(answered[int(len(answered) * p / 100)], 1) for p in (10, 50, 90)}
        if answered
        else {},
        # from the first POST to the L-th: the first window's spread is carried by every later window
        "first_window_spread_ms": round((times[min(RATE_LIMIT, len(times)) - 1] - first) * 1000, 1),
        # for information: the first window, ms after the first motion was ready: the i-th ready, the i-th POST
        "first_window_ms": {
            name: [round((t - ready[0]) * 1000) for t in series[:RATE_LIMIT]]
            for name, series in (("ready", ready), ("posted", times))
        },
        "first_created_to_ready_ms": round((ready[0] - created[0]) * 1000, 1),
        # for information: the same share from the L-th POST on, the start of the backlog left out
        "slot_share_after_first_window": round((len(times) - RATE_LIMIT) / (RATE_LIMIT * steady / window), 3)
        if steady > 0
        else None,
    }
