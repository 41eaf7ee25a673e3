"""Losing a host: two complete process sets (web, two workers, clock) share PostgreSQL and Redis; one is SIGKILLed.

Host A is the chaos stack's own web, workers and clock; host B is a second gunicorn, two workers and a
clock with its own metrics folder, started beside it. Callers post through both web servers (as through a
load balancer: a request that fails is sent again, with the same Idempotency-Key, to the next host up).
Once a third of the motions are submitted, every process of host B is SIGKILLed with its children. With
`sentinel=True` the stack's Redis is a Sentinel group and `SENTINEL FAILOVER` is forced at the same moment.

Pass: the chaos checks (everything drains, nothing lost or doubled, every callback delivered), each
motion created once at JoggAI, and the POST budget stays shared: no JoggAI 429 at all with plain Redis,
at most one window's worth with a failover (its last budget hits may be lost with the old master).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import psutil
import requests

from chaos import checks
from chaos.report import judged_run, run_meta, write_run_row
from chaos.scenarios import MOTION, Load
from chaos.sentinel_failover import WINDOW_POSTS, WINDOW_SECONDS, SentinelStack
from chaos.stack import Stack
from devstack.redis import free_port

HOST_B_WORKERS = 2
# A window long enough that the budget's guard (2.5 % of it) covers POSTs arriving late while a host dies
# on a loaded machine: in a 2 s window the guard is 50 ms, and one such late POST drew a 429.
POSTS, WINDOW = 20, 8


@dataclass
class TwoHostPlan:
    """How many motions over how long, and when host B dies (after this share of submissions)."""

    motions: int = 120
    post_seconds: float = 10.0
    kill_after_share: float = 1 / 3
    drain_timeout: float = 240.0


@dataclass
class TwoHostResult:
    """The verdict and what the run did."""

    sentinel: bool
    motions: int
    passed: bool = False
    failures: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    responses_429: int = 0
    accepted_by_host: dict[str, int] = field(default_factory=dict)
    drain_seconds: float | None = None
    wall_seconds: float = 0.0
    metrics: dict = field(default_factory=dict)
    logs: str = ""


class BudgetStack(Stack):
    """The chaos stack with the POST budget binding: JoggAI and the gateway both allow `posts` per window."""

    def __init__(self, label: str, keep_logs: bool = False, posts: int = WINDOW_POSTS, seconds: int = WINDOW_SECONDS):
        super().__init__(
            label, keep_logs=keep_logs, extra_env={"JOGG_POST_RATE_LIMIT": f"{posts} per {seconds} seconds"}
        )
        self.window = (posts, seconds)

    def sandbox_env(self) -> dict[str, str]:
        """The sandbox allows exactly the budget the gateway keeps."""
        posts, seconds = self.window
        return {**super().sandbox_env(), "SANDBOX_RATE_LIMIT": str(posts), "SANDBOX_RATE_WINDOW_SECONDS": str(seconds)}


class HostB:
    """The second host's processes, on the same database, Redis and sandbox as the stack's."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The stack's settings with this host's own metrics folder."""
        prom = self.stack.run_dir / "prom-b"
        prom.mkdir(exist_ok=True)
        return {**self.stack.env(), "PROMETHEUS_MULTIPROC_DIR": str(prom)}

    def start(self) -> HostB:
        """Start web, workers and clock; return once web answers /readyz."""
        env = self.env()
        web = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}"]
        self.procs["web-b"] = self.stack._spawn("web-b", [*web, "wsgi:app"], env)
        for n in range(HOST_B_WORKERS):
            self.procs[f"worker-b{n + 1}"] = self.stack._spawn(
                f"worker-b{n + 1}", [sys.executable, "-m", "workers", "worker"], env
            )
        self.procs["clock-b"] = self.stack._spawn("clock-b", [sys.executable, "-m", "workers", "clock"], env)
        self.stack._wait_http(f"{self.url}/readyz")
        return self

    def kill(self) -> int:
        """SIGKILL every process of this host and their children at once; returns how many died."""
        family = []
        for proc in self.procs.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                family += [proc.pid, *(child.pid for child in psutil.Process(proc.pid).children(recursive=True))]
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait(timeout=10)
        self.killed = True
        return len(family)

    def stop(self) -> None:
        """Stop whatever still runs (after a kill: nothing)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


class SpreadLoad(Load):
    """The chaos load, spread over both hosts; a request that fails goes to the next host (same key)."""

    def __init__(self, stack: Stack, hosts: list[str], count: int, seconds: float):
        super().__init__(stack, count, seconds)
        self.hosts = hosts
        self.by_host: dict[str, int] = {}

    def _post(self, session: requests.Session, key: str, name: str) -> None:
        image_url = self.stack.sandbox_url + MOTION["image_path"]  # pre-flight fetches the sandbox's test image
        body = {"image_url": image_url, "voice_id": MOTION["voice_id"], "model": MOTION["model"], "name": name}
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": name}
        turn, deadline = hash(name) % len(self.hosts), time.monotonic() + 120
        while time.monotonic() < deadline:
            host = self.hosts[turn % len(self.hosts)]
            try:
                resp = session.post(f"{host}/v1/motions", json=body, headers=headers, timeout=10)
            except requests.RequestException as exc:
                self._count(f"conn:{type(exc).__name__}")
                turn += 1  # the load balancer sends it to the next host
                time.sleep(0.2)
                continue
            self._count(resp.status_code)
            if resp.status_code in (200, 201, 202):
                with self.lock:
                    self.names[resp.json()["id"]] = name
                    self.posted += 1
                    self.by_host[host] = self.by_host.get(host, 0) + 1
                return
            time.sleep(0.5)
        self._count("gave up")


def _submitted(stack: Stack) -> int:
    """Motions JoggAI has accepted so far."""
    return stack.sql("SELECT count(*) FROM motions WHERE submitted_at IS NOT NULL")[0][0]


def lose_host_b(stack: Stack, host_b: HostB, plan: TwoHostPlan, load: Load, result: TwoHostResult) -> None:
    """Once a share of the motions is submitted, SIGKILL host B (and fail Redis over, under Sentinel)."""
    while _submitted(stack) < plan.motions * plan.kill_after_share and not load.done.is_set():
        time.sleep(0.05)
    submitted = _submitted(stack)
    failover = threading.Thread(target=stack.redis.failover) if result.sentinel else None
    if failover:
        failover.start()
    killed = host_b.kill()
    result.faults.append(f"host B SIGKILLed ({killed} processes: web, {HOST_B_WORKERS} workers, clock) "
                         f"after {submitted} submissions")  # fmt: skip
    if failover:
        failover.join(60)
        result.faults.append("SENTINEL FAILOVER forced at the same moment")


def run(plan: TwoHostPlan | None = None, sentinel: bool = False, keep_logs: bool = False, log=print) -> TwoHostResult:
    """Start both hosts, load them, lose host B mid-run, drain, judge; everything is always stopped."""
    plan = plan or TwoHostPlan()
    result = TwoHostResult(sentinel=sentinel, motions=plan.motions)
    started = time.monotonic()
    if sentinel:
        stack = SentinelStack(keep_logs=keep_logs, posts=POSTS, seconds=WINDOW)
    else:
        stack = BudgetStack("two-hosts", keep_logs=keep_logs, posts=POSTS, seconds=WINDOW)
    host_b = HostB(stack)
    with judged_run(result, stack, host_b, started=started):
        stack.start()
        host_b.start()
        log(f"[two hosts] up in {time.monotonic() - started:.1f} s (Redis: {stack.redis.url})")
        load = SpreadLoad(stack, [stack.web_url, host_b.url], plan.motions, plan.post_seconds)
        fault = threading.Thread(target=lose_host_b, args=(stack, host_b, plan, load, result), daemon=True)
        load.start()
        fault.start()
        load.wait(plan.post_seconds + 120)
        fault.join(plan.drain_timeout)
        log(f"[two hosts] {load.posted} motions accepted; {result.faults}; draining")
        snap, drain, left = checks.wait_drained(stack, plan.motions, plan.drain_timeout)
        result.drain_seconds = round(drain, 1) if drain is not None else None
        _judge(stack, host_b, load, snap, left, plan, result)
    return result


def _judge(stack: Stack, host_b: HostB, load: SpreadLoad, snap, left: str, plan: TwoHostPlan, result) -> None:
    """The chaos checks, once-only creation at JoggAI, and the shared budget's 429 count."""
    verdict = checks.judge(snap, load.names, load.statuses, False, left)
    result.failures += verdict.failures
    result.metrics = verdict.metrics
    result.accepted_by_host = {("A" if host == stack.web_url else "B"): n for host, n in load.by_host.items()}
    result.responses_429 = snap.sandbox.get("responses_429", 0)
    if not host_b.killed:
        result.failures.append("host B was never killed")
    if len(load.names) != plan.motions:
        result.failures.append(f"only {len(load.names)} of {plan.motions} motions were accepted")
    created = snap.sandbox.get("motions_created_by_name", {})
    wrong = {name: created.get(name, 0) for name in load.names.values() if created.get(name, 0) != 1}
    if wrong:
        result.failures.append(
            f"{len(wrong)} motions not created exactly once at JoggAI, e.g. {list(wrong.items())[:5]}"
        )
    allowed = POSTS if result.sentinel else 0
    if result.responses_429 > allowed:
        result.failures.append(f"{result.responses_429} JoggAI 429s (allowed: {allowed}): the budget was not shared")
    dead = stack.dead_processes()
    if dead:
        result.failures.append(f"host A processes died: {dead}")


def table_row(result: TwoHostResult, plan: TwoHostPlan) -> tuple[list[str], list]:
    """docs/RELIABILITY.md's header and row for a run."""
    header = ["motions (accepted via host A / B)", "fault", "429s", "API answers", "drain (s)", "run (s)", "result"]
    by_host = result.accepted_by_host
    outcome = "pass" if result.passed else f"**FAIL**: {'; '.join(result.failures)}"
    cells = [f"{plan.motions} ({by_host.get('A', 0)} / {by_host.get('B', 0)})", "; ".join(result.faults),
             result.responses_429, result.metrics.get("api_statuses"), result.drain_seconds, result.wall_seconds,
             outcome]  # fmt: skip
    return header, cells


def main() -> int:
    """`python -m chaos.two_hosts [--short] [--sentinel]`: the full run (300 motions) or the CI one (120)."""
    import argparse
    import json
    from dataclasses import asdict

    parser = argparse.ArgumentParser(prog="python -m chaos.two_hosts")
    parser.add_argument("--short", action="store_true", help="the CI size: 120 motions")
    parser.add_argument("--sentinel", action="store_true", help="Redis under Sentinel, failing over with the kill")
    args = parser.parse_args()
    plan = TwoHostPlan() if args.short else TwoHostPlan(motions=300, post_seconds=30, drain_timeout=600)
    flags = (" --short" if args.short else "") + (" --sentinel" if args.sentinel else "")
    meta = run_meta("python -m chaos.two_hosts" + flags)
    result = run(plan, sentinel=args.sentinel, log=lambda line: print(line, flush=True))
    if not args.short:
        marker = "two_hosts_sentinel:full" if args.sentinel else "two_hosts:full"
        write_run_row(marker, meta, *table_row(result, plan))
    print(json.dumps(asdict(result), default=str, indent=1))
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
