"""The Sentinel failover run: a full stack on a Sentinel group, motions flowing, `SENTINEL FAILOVER` mid-run.

The stack is chaos.stack.Stack with its Redis replaced by devstack.sentinel.SentinelGroup (REDIS_URL is the
group's `redis+sentinel://` URL for gunicorn, the workers and the clock). The POST budget binds (JoggAI's
sandbox allows WINDOW_POSTS per WINDOW_SECONDS, and so does JOGG_POST_RATE_LIMIT), so the failover lands
while submissions wait for slots. Pass: the chaos checks (everything drains, nothing lost or doubled, every
callback delivered), each motion created once at JoggAI, and at most one window's worth of 429s (budget
hits the old master took in its last moments are lost with it). The seconds from the FAILOVER command to
the first submission after the sentinels named the new master are measured, never asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaos import checks
from chaos.report import judged_run, run_meta, write_run_row
from chaos.scenarios import Load
from chaos.stack import Stack
from devstack.sentinel import SentinelGroup

WINDOW_POSTS, WINDOW_SECONDS = 10, 2


@dataclass
class FailoverPlan:
    """How many motions, over how long, and when to fail over (after this many submissions)."""

    motions: int = 100
    post_seconds: float = 10.0
    failover_after_submitted: int = 40
    drain_timeout: float = 180.0


@dataclass
class FailoverResult:
    """What the run saw: the checks' verdict, the failover's timings and JoggAI's counters."""

    motions: int
    passed: bool = False
    failures: list[str] = field(default_factory=list)
    failover_sent_at: float | None = None
    new_master_named_after: float | None = None  # seconds from the FAILOVER command
    first_submission_after: float | None = None  # seconds from the FAILOVER command
    submitted_before_failover: int = 0
    responses_429: int = 0
    add_motion_calls: int = 0
    callback_duplicates: int = 0
    drain_seconds: float | None = None
    wall_seconds: float = 0.0
    metrics: dict = field(default_factory=dict)
    logs: str = ""


class SentinelStack(Stack):
    """A chaos stack whose Redis is a Sentinel group, with JoggAI's rate limit tight enough to bind."""

    def __init__(self, keep_logs: bool = False, posts: int = WINDOW_POSTS, seconds: int = WINDOW_SECONDS):
        super().__init__(
            "sentinel", keep_logs=keep_logs, extra_env={"JOGG_POST_RATE_LIMIT": f"{posts} per {seconds} seconds"}
        )
        self.redis = SentinelGroup()
        self.window = (posts, seconds)

    def sandbox_env(self) -> dict[str, str]:
        """The sandbox allows exactly the budget the gateway keeps."""
        posts, seconds = self.window
        return {**super().sandbox_env(), "SANDBOX_RATE_LIMIT": str(posts), "SANDBOX_RATE_WINDOW_SECONDS": str(seconds)}

    def submitted_times(self) -> list[float]:
        """Unix times of every submission JoggAI accepted so far."""
        rows = self.sql("SELECT extract(epoch FROM submitted_at) FROM motions WHERE submitted_at IS NOT NULL")
        return sorted(float(row[0]) for row in rows)


def fail_over_mid_run(stack: SentinelStack, plan: FailoverPlan, result: FailoverResult, load: Load) -> None:
    """Once enough motions are submitted, force SENTINEL FAILOVER and note when the new master is named."""
    while len(stack.submitted_times()) < plan.failover_after_submitted and not load.done.is_set():
        time.sleep(0.05)
    result.submitted_before_failover = len(stack.submitted_times())
    result.failover_sent_at = time.time()
    stack.redis.failover()
    result.new_master_named_after = round(time.time() - result.failover_sent_at, 2)


def run(plan: FailoverPlan | None = None, keep_logs: bool = False, log=print) -> FailoverResult:
    """Start the stack, load it, fail over mid-run, drain, judge; the stack is always stopped."""
    plan = plan or FailoverPlan()
    result = FailoverResult(motions=plan.motions)
    started = time.monotonic()
    stack = SentinelStack(keep_logs=keep_logs)
    with judged_run(result, stack, started=started):
        stack.start()
        log(f"[sentinel] stack up in {time.monotonic() - started:.1f} s on {stack.redis.url}")
        _load_and_fail_over(stack, plan, result, log)
        _judge(stack, plan, result, *_drain(stack, plan, result, log))
    return result


def _load_and_fail_over(stack: SentinelStack, plan: FailoverPlan, result: FailoverResult, log) -> None:
    """Post the motions through gunicorn while the failover thread waits for its moment."""
    load = Load(stack, plan.motions, plan.post_seconds)
    fault = threading.Thread(target=fail_over_mid_run, args=(stack, plan, result, load), daemon=True)
    load.start()
    fault.start()
    load.wait(plan.post_seconds + 120)
    fault.join(plan.drain_timeout)
    stack.load = load
    log(f"[sentinel] {load.posted} motions accepted; failover after {result.submitted_before_failover} submissions")


def _drain(stack: SentinelStack, plan: FailoverPlan, result: FailoverResult, log=print):
    """Wait for everything to finish, logging what is still pending; returns the last snapshot and what was left."""
    started, watching = time.monotonic(), threading.Event()

    def report() -> None:
        while not watching.wait(10):
            log(
                f"[sentinel] +{time.monotonic() - started:.0f} s pending: {checks.drained(checks.snapshot(stack), plan.motions)[1]}"
            )

    threading.Thread(target=report, daemon=True).start()
    try:
        snap, drain, left = checks.wait_drained(stack, plan.motions, plan.drain_timeout)
    finally:
        watching.set()
    result.drain_seconds = round(drain, 1) if drain is not None else None
    if result.failover_sent_at is not None:
        named_at = result.failover_sent_at + (result.new_master_named_after or 0.0)
        after = [t for t in stack.submitted_times() if t > named_at]
        if after:
            result.first_submission_after = round(after[0] - result.failover_sent_at, 2)
    return snap, left


def _judge(stack: SentinelStack, plan: FailoverPlan, result: FailoverResult, snap, left: str) -> None:
    """The chaos checks plus once-only creation at JoggAI and the 429 allowance."""
    load = stack.load
    verdict = checks.judge(snap, load.names, load.statuses, False, left)
    result.failures += verdict.failures
    result.metrics = verdict.metrics
    sandbox = snap.sandbox
    result.responses_429 = sandbox.get("responses_429", 0)
    result.add_motion_calls = sandbox.get("add_motion_calls", 0)
    result.callback_duplicates = stack.receiver.duplicates
    if result.failover_sent_at is None:
        result.failures.append("the failover never happened")
    if len(load.names) != plan.motions:
        result.failures.append(f"only {len(load.names)} of {plan.motions} motions were accepted")
    created = sandbox.get("motions_created_by_name", {})
    wrong = {name: created.get(name, 0) for name in load.names.values() if created.get(name, 0) != 1}
    if wrong:
        result.failures.append(
            f"{len(wrong)} motions not created exactly once at JoggAI, e.g. {list(wrong.items())[:5]}"
        )
    if result.add_motion_calls - plan.motions > result.responses_429:
        result.failures.append(f"{result.add_motion_calls} add_motion calls for {plan.motions} motions")
    if result.responses_429 > WINDOW_POSTS:
        result.failures.append(f"{result.responses_429} JoggAI 429s: more than one window's worth ({WINDOW_POSTS})")
    dead = stack.dead_processes()
    if dead:
        result.failures.append(f"processes died: {dead}")


def write_result(result: FailoverResult, path: Path) -> None:
    """Append the run's numbers as one JSON line (the failover seconds are reported, never asserted)."""
    record = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), **asdict(result)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps(record, default=str) + "\n")


def table_row(result: FailoverResult, plan: FailoverPlan) -> tuple[list[str], list]:
    """docs/RELIABILITY.md's header and row for a run."""
    header = ["motions", "fault", "429s", "failover: new master named / first submission after (s from the command)",
              "callback re-sends", "drain (s)", "run (s)", "result"]  # fmt: skip
    outcome = "pass" if result.passed else f"**FAIL**: {'; '.join(result.failures)}"
    cells = [plan.motions, f"`SENTINEL FAILOVER` after {result.submitted_before_failover} submissions",
             result.responses_429, f"{result.new_master_named_after} / {result.first_submission_after}",
             result.callback_duplicates, result.drain_seconds, result.wall_seconds, outcome]  # fmt: skip
    return header, cells


def main() -> int:
    """`python -m chaos.sentinel_failover [--short]`: the full run (300 motions) or the CI one (100)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chaos.sentinel_failover")
    parser.add_argument("--short", action="store_true", help="the CI size: 100 motions")
    args = parser.parse_args()
    plan = FailoverPlan() if args.short else FailoverPlan(motions=300, post_seconds=30, failover_after_submitted=120)
    meta = run_meta("python -m chaos.sentinel_failover" + (" --short" if args.short else ""))
    result = run(plan, log=lambda line: print(line, flush=True))
    write_result(result, Path(__file__).resolve().parent.parent / "instance" / "sentinel-failover.jsonl")
    if not args.short:
        write_run_row("sentinel_failover:full", meta, *table_row(result, plan))
    print(json.dumps({k: v for k, v in asdict(result).items() if k != "metrics"}, default=str, indent=1))
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
