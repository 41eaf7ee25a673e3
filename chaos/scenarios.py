"""The five chaos scenarios: a load of motions from three callers, one kind of fault, then the checks."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import redis
import requests

from chaos import checks
from chaos.stack import CALLERS, Stack

# Pre-flight is on (the default): motions name the sandbox's test image and a voice from its library.
MOTION = {"image_path": "/_sandbox/images/600x800.png", "voice_id": "en-US-JennyNeural", "model": "2.0"}


@dataclass
class Plan:
    """How big and how long: `full()` is the on-demand run, `short()` the CI one."""

    motions: int
    post_seconds: float  # the load is spread over this long
    kill_every: float
    outage_seconds: float  # PostgreSQL cut / receiver down
    drain_timeout: float
    flushes: int

    @classmethod
    def full(cls) -> Plan:
        return cls(motions=300, post_seconds=30, kill_every=3, outage_seconds=12, drain_timeout=600, flushes=2)

    @classmethod
    def short(cls) -> Plan:
        return cls(motions=60, post_seconds=10, kill_every=3, outage_seconds=6, drain_timeout=240, flushes=1)


@dataclass
class Result:
    key: str
    title: str
    motions: int
    faults: list[str] = field(default_factory=list)
    drain_seconds: float | None = None
    verdict: checks.Verdict | None = None
    callback_duplicates: int = 0
    webhook_posts: int = 0
    error: str | None = None
    wall_seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and self.verdict is not None and self.verdict.passed


class Load:
    """Three callers posting motions (with Idempotency-Key = name, retried until accepted) and a reader."""

    def __init__(self, stack: Stack, count: int, seconds: float):
        self.stack = stack
        self.count = count
        self.seconds = seconds
        self.statuses: Counter = Counter()
        self.lock = threading.Lock()
        self.names: dict[str, str] = {}  # motion id -> name
        self.posted = 0
        self.run_id = uuid.uuid4().hex[:6]
        self.done = threading.Event()
        self.stop_reading = threading.Event()

    def _count(self, status) -> None:
        with self.lock:
            self.statuses[status] += 1

    def _post(self, session: requests.Session, key: str, name: str) -> None:
        body = {"image_url": self.stack.sandbox_url + MOTION["image_path"], "voice_id": MOTION["voice_id"],
                "model": MOTION["model"], "name": name}  # fmt: skip
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": name}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                resp = session.post(f"{self.stack.web_url}/v1/motions", json=body, headers=headers, timeout=10)
            except requests.RequestException as exc:
                self._count(f"conn:{type(exc).__name__}")
                time.sleep(0.5)
                continue
            self._count(resp.status_code)
            if resp.status_code in (200, 201, 202):
                with self.lock:
                    self.names[resp.json()["id"]] = name
                    self.posted += 1
                return
            time.sleep(0.5)
        self._count("gave up")

    def _caller(self, index: int, caller: str) -> None:
        key = self.stack.callers[caller]["api_key"]
        mine = [i for i in range(self.count) if i % len(CALLERS) == index]
        session = requests.Session()
        start = time.monotonic()
        for n, i in enumerate(mine):
            due = start + self.seconds * n / max(1, len(mine))
            time.sleep(max(0.0, due - time.monotonic()))
            self._post(session, key, f"chaos-{self.run_id}-{caller}-{i:04d}")

    def _reader(self) -> None:
        session = requests.Session()
        key = self.stack.callers[CALLERS[0]]["api_key"]
        while not self.stop_reading.wait(0.3):
            try:
                resp = session.get(
                    f"{self.stack.web_url}/v1/motions?limit=5", headers={"Authorization": f"Bearer {key}"}, timeout=10
                )
                self._count(resp.status_code)
            except requests.RequestException as exc:
                self._count(f"conn:{type(exc).__name__}")

    def start(self) -> None:
        threads = [threading.Thread(target=self._caller, args=(i, c), daemon=True) for i, c in enumerate(CALLERS)]
        reader = threading.Thread(target=self._reader, daemon=True)
        reader.start()

        def run() -> None:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.done.set()

        threading.Thread(target=run, daemon=True).start()

    def wait(self, timeout: float) -> None:
        self.done.wait(timeout)
        self.stop_reading.set()


# -- the faults ---------------------------------------------------------------------------------


def fault_kill_workers(stack: Stack, load: Load, plan: Plan, faults: list[str]) -> None:
    """(a) SIGKILL a random worker process (with the job it is running) every few seconds, restarting a fresh one."""
    rng = random.Random(1)
    kills = 0
    end_after_load = None
    while True:
        time.sleep(plan.kill_every)
        if load.done.is_set():
            end_after_load = end_after_load or time.monotonic() + plan.kill_every * 3
            if time.monotonic() > end_after_load:
                break
        victim = rng.choice(stack.workers)
        stack.kill_worker(victim)
        stack.start_worker()
        kills += 1
    faults.append(
        f"{kills} worker SIGKILLs (the process with the job it was running), one every {plan.kill_every:g} s, each replaced"
    )


def fault_flushall(stack: Stack, load: Load, plan: Plan, faults: list[str]) -> None:
    """(b) FLUSHALL the private Redis mid-run (and again later in the full run)."""
    conn = redis.Redis.from_url(stack.redis.url)
    for n in range(plan.flushes):
        target = load.count * (n + 1) / (plan.flushes + 1)
        while load.posted < target and not load.done.is_set():
            time.sleep(0.1)
        conn.flushall()
        faults.append(f"FLUSHALL after {load.posted} motions accepted")


def fault_postgres(stack: Stack, load: Load, plan: Plan, faults: list[str]) -> None:
    """(c) PostgreSQL outage: the TCP proxy refuses new connections and kills open ones, then comes back."""
    while load.posted < load.count / 2 and not load.done.is_set():
        time.sleep(0.1)
    accepted = load.posted
    killed = stack.pg.cut()
    time.sleep(plan.outage_seconds)
    stack.pg.restore()
    faults.append(
        f"PostgreSQL down {plan.outage_seconds:g} s after {accepted} motions accepted "
        f"(TCP proxy cut, {killed} open sockets reset)"
    )


def fault_sandbox(stack: Stack, load: Load, plan: Plan, faults: list[str]) -> None:
    """(d) sandbox faults together for the whole run."""
    knobs = dict(error_rate=0.2, error_status=502, hang_before_rate=0.05, hang_rate=0.05, drop_after_create_rate=0.05,
                 hang_seconds=5.0, webhook_drop_rate=0.5, webhook_duplicate_rate=0.2)  # fmt: skip
    stack.sandbox_config(**knobs)
    faults.append(
        "sandbox: 20 % HTTP 502 on add_motion; POSTs lost: 5 % before creating (hang 5 s, then dropped), 5 % after "
        "(answer held 5 s, read timeout 2 s), 5 % after (connection dropped); 50 % webhooks dropped, 20 % duplicated"
    )


def fault_receiver(stack: Stack, load: Load, plan: Plan, faults: list[str]) -> None:
    """(e) the callers' receiver down (connection refused) for a stretch, then back."""
    while load.posted < load.count / 3 and not load.done.is_set():
        time.sleep(0.1)
    accepted = load.posted
    stack.receiver.stop()
    time.sleep(plan.outage_seconds)
    stack.receiver.start()
    faults.append(
        f"callback receiver down {plan.outage_seconds:g} s (connection refused) after {accepted} motions accepted"
    )


SCENARIOS = {
    "a": ("SIGKILL a random worker every few seconds", fault_kill_workers, False),
    "b": ("FLUSHALL Redis mid-run", fault_flushall, False),
    "c": ("PostgreSQL outage mid-run", fault_postgres, True),
    "d": (
        "sandbox faults: 20 % 5xx, 15 % POSTs lost (before or after creating), 50 % dropped and 20 % duplicated webhooks",
        fault_sandbox,
        False,
    ),
    "e": ("callers' receiver down for a stretch, then back", fault_receiver, False),
}


def run(key: str, plan: Plan, keep_logs: bool = False, log=print) -> Result:
    title, fault, allow_503 = SCENARIOS[key]
    result = Result(key=key, title=title, motions=plan.motions)
    started = time.monotonic()
    stack = Stack(key, keep_logs=keep_logs)
    try:
        stack.start()
        log(f"[{key}] stack up in {time.monotonic() - started:.1f} s (logs: {stack.run_dir})")
        load = Load(stack, plan.motions, plan.post_seconds)
        faults: list[str] = []
        fault_thread = threading.Thread(target=fault, args=(stack, load, plan, faults), daemon=True)
        load.start()
        fault_thread.start()
        load.wait(plan.post_seconds + 180)
        fault_thread.join(plan.post_seconds + 120)
        result.faults = faults
        log(f"[{key}] {load.posted} motions accepted; faults: {faults}; draining")
        t0 = time.monotonic()
        snap, drain, left = checks.wait_drained(stack, plan.motions, plan.drain_timeout)
        result.drain_seconds = drain if drain is not None else None
        result.verdict = checks.judge(snap, load.names, load.statuses, allow_503, left)
        if len(load.names) != plan.motions:
            result.verdict.passed = False
            result.verdict.failures.append(f"only {len(load.names)} of {plan.motions} motions were accepted")
        dead = [d for d in stack.dead_processes()]
        if dead:
            result.verdict.passed = False
            result.verdict.failures.append(f"processes died: {dead}")
        result.callback_duplicates = stack.receiver.duplicates
        result.webhook_posts = stack.receiver.posts
        result.verdict.metrics["callback_duplicates"] = stack.receiver.duplicates
        result.verdict.metrics["bad_signatures"] = stack.receiver.bad_signatures
        result.verdict.metrics["drain_wait_seconds"] = round(time.monotonic() - t0, 1)
        if not result.passed:
            stack.keep_logs = True
            log(f"[{key}] FAILED: {result.verdict.failures} (logs kept in {stack.run_dir})")
    except Exception as exc:  # noqa: BLE001  (a crashed scenario is a failed scenario, reported)
        import traceback

        result.error = f"{type(exc).__name__}: {exc}"
        stack.keep_logs = True
        log(traceback.format_exc())
    finally:
        stack.stop()
        result.wall_seconds = time.monotonic() - started
    return result
