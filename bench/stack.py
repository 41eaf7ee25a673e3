"""Start and stop the deployed stack (gunicorn, RQ workers, clock, sandbox) and the baseline app for a bench run.

Everything listens on 127.0.0.1, uses a throwaway PostgreSQL database (`mg_bench_<random>`) and Redis
database 12 (flushed before and after), and is torn down by `Stack.stop()`.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devstack.redis import free_port

ROOT = Path(__file__).resolve().parent.parent
PY = str(Path(sys.executable))
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/12"
WEBHOOK_SECRET = "bench-webhook-secret"
RATE_LIMIT, RATE_WINDOW = 20, 2  # the scaled-down JoggAI window: 20 POSTs per 2 s
WORKERS = 3
RECEIVED_EVENTS = "SELECT count(*) FROM jogg_events WHERE state = 'received'"
# Chosen at import so request bodies can name the sandbox's test images (pre-flight fetches them; no internet).
SANDBOX_PORT = free_port()
SANDBOX_IMAGE = f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/images/"
SANDBOX_VOICE = "en-US-JennyNeural"  # in the sandbox's voice library


def psql(sql: str, db: str = "postgres", timeout: float = 600) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def redis_cli(*args: str) -> str:
    return subprocess.run(["redis-cli", "-n", "12", *args], capture_output=True, text=True, timeout=30).stdout.strip()


def wait_http(port: int, path: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered on port {port}{path} within {seconds}s")
        time.sleep(0.2)


class Recorder:
    """A local HTTP server in the bench process: the callers' callback receiver and the JoggAI webhook relay.

    /cb/<caller>: records (arrival time, event type, motion id) of each caller callback and answers 204.
    /relay: records the arrival time of each sandbox webhook by JoggAI motion id, then forwards the exact
    bytes and headers to the gateway's /webhooks/jogg and answers what it answered.
    """

    def __init__(self, gateway_port_ref: dict):
        self.callbacks: list[tuple[float, str, str, str]] = []
        self.webhooks: dict[str, float] = {}
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/cb/"):
                    try:
                        event = json.loads(body)
                        with recorder.lock:
                            recorder.callbacks.append(
                                (arrived, self.path[4:], event.get("type", ""), (event.get("data") or {}).get("id", ""))
                            )
                    except ValueError:
                        pass
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/relay":
                    try:
                        motion_id = json.loads(body)["data"]["motion_id"]
                        with recorder.lock:
                            recorder.webhooks.setdefault(motion_id, arrived)
                    except (ValueError, KeyError, TypeError):
                        pass
                    headers = {k: v for k, v in self.headers.items() if k.lower().startswith(("x-", "content-type"))}
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", gateway_port_ref["port"], timeout=10)
                        conn.request("POST", "/webhooks/jogg", body=body, headers=headers)
                        answer = conn.getresponse()
                        status, data = answer.status, answer.read()
                        conn.close()
                    except OSError:
                        status, data = 502, b""
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MemorySampler:
    """Samples the RSS of the web workers and the RQ worker processes every 0.5 s."""

    def __init__(self):
        self.roles: dict[str, list[int]] = {}
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    @staticmethod
    def children(pid: int) -> list[int]:
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    @staticmethod
    def status_kb(pid: int, field: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def pids(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {"web_worker": [], "rq_worker": []}
        for master in self.roles.get("web_master", []):
            out["web_worker"] += self.children(master)
        for worker in self.roles.get("rq_worker", []):
            out["rq_worker"].append(worker)
        return out

    def sample(self, field: str = "VmRSS") -> None:
        for role, pids in self.pids().items():
            for pid in pids:
                kb = self.status_kb(pid, field)
                if kb > self.peaks.get(role, 0):
                    self.peaks[role] = kb

    def _run(self):
        while not self._stop.wait(0.5):
            self.sample()

    def stop(self):
        self._stop.set()


class Stack:
    """The service as deployed, plus the baseline app, on one machine."""

    def __init__(self, log):
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix="mg_bench_"))
        self.db = f"mg_bench_{secrets.token_hex(4)}"
        self.database_url = f"postgresql://postgres@127.0.0.1:5432/{self.db}"
        self.web_port, self.base_port, self.sandbox_port = free_port(), free_port(), SANDBOX_PORT
        self.procs: dict[str, subprocess.Popen] = {}
        self.gateway_ref = {"port": self.web_port}
        self.recorder: Recorder | None = None
        self.memory = MemorySampler()
        self.callers: dict[str, dict] = {}

    # --- environment -------------------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            APP_ENV="production",
            DATABASE_URL=self.database_url,
            REDIS_URL=REDIS_URL,
            JOGG_BASE_URL=f"http://127.0.0.1:{self.sandbox_port}",
            JOGG_API_KEY="sandbox-key",
            JOGG_WEBHOOK_SECRET=WEBHOOK_SECRET,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{self.web_port}",
            OPS_TOKEN="bench-ops-token",
            CALLBACK_ALLOWED_NETWORKS="127.0.0.0/8,::1",
            IMAGE_ALLOWED_NETWORKS="127.0.0.0/8",  # pre-flight (on, the default) fetches the sandbox's test images
            JOGG_POST_RATE_LIMIT=f"{RATE_LIMIT} per {RATE_WINDOW} seconds",
            PROMETHEUS_MULTIPROC_DIR=str(self.tmp / "prom"),
            LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        env.pop("PORT", None)
        return env

    def spawn(self, name: str, args: list[str], extra: dict | None = None) -> subprocess.Popen:
        env = self.env()
        env.update(extra or {})
        out = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def flask(self, *args: str) -> str:
        out = subprocess.run(
            [str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"flask {' '.join(args)} failed: {out.stderr[-2000:]}")
        return out.stdout

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        (self.tmp / "prom").mkdir()
        redis_cli("FLUSHDB")
        psql(f"CREATE DATABASE {self.db}")
        self.log(f"database {self.db}, logs in {self.tmp}")
        self.flask("db", "upgrade")
        self.recorder = Recorder(self.gateway_ref)
        cb = f"http://127.0.0.1:{self.recorder.port}/cb/"
        wanted = (("intake", None), ("notify", cb + "notify"), ("budget-a", None), ("budget-b", None),
                  ("budget-c", None), ("scale", None))  # fmt: skip

        def create(item):
            name, callback = item
            args = ["callers", "create", name] + (["--callback-url", callback] if callback else [])
            return name, json.loads(self.flask(*args))

        with ThreadPoolExecutor(3) as pool:
            self.callers.update(pool.map(create, wanted))
        self.spawn(
            "sandbox",
            [PY, "-m", "sandbox"],
            {
                "SANDBOX_PORT": str(self.sandbox_port),
                "SANDBOX_MOTION_SECONDS": "1",
                "SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{self.recorder.port}/relay",
                "SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "SANDBOX_RATE_LIMIT": str(RATE_LIMIT),
                "SANDBOX_RATE_WINDOW_SECONDS": str(RATE_WINDOW),
                "SANDBOX_CREDITS": "100000000",
            },
        )
        self.spawn("web", [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.web_port}",
                           "wsgi:app"])  # fmt: skip
        self.spawn("baseline", [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind",
                                f"127.0.0.1:{self.base_port}", "bench.baseline_app:app"])  # fmt: skip
        for i in range(WORKERS):
            self.spawn(f"worker{i}", [PY, "-m", "workers", "worker"])
        self.start_clock()
        wait_http(self.sandbox_port, "/_sandbox/stats")
        wait_http(self.web_port, "/healthz")
        wait_http(self.base_port, "/healthz")
        self.memory.roles = {
            "web_master": [self.procs["web"].pid],
            "rq_worker": [self.procs[f"worker{i}"].pid for i in range(WORKERS)],
        }
        time.sleep(2)  # let the workers register and the clock take its locks

    def start_clock(self) -> None:
        self.spawn("clock", [PY, "-m", "workers", "clock"])

    def stop_workers(self) -> None:
        """Stop every RQ worker process and the clock (each finishes the job it holds)."""
        for name in [n for n in self.procs if n.startswith("worker")] + ["clock"]:
            self.stop_process(name)

    def start_workers(self, count: int = WORKERS, extra: dict | None = None, clock: bool = True) -> None:
        """Start `count` RQ worker processes (and the clock) with `extra` settings; the memory sampler follows them."""
        for i in range(count):
            self.spawn(f"worker{i}", [PY, "-m", "workers", "worker"], extra)
        if clock:
            self.spawn("clock", [PY, "-m", "workers", "clock"], extra)
        self.memory.roles["rq_worker"] = [self.procs[f"worker{i}"].pid for i in range(count)]

    def stop_process(self, name: str, grace: float = 10) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass

    @contextmanager
    def paused(self, *names: str) -> Iterator[None]:
        """Hold these processes (SIGSTOP to each process group) for the block, then let them go on (SIGCONT)."""
        groups = [self.procs[name].pid for name in names if name in self.procs]
        for pid in groups:
            os.killpg(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in groups:
                os.killpg(pid, signal.SIGCONT)

    def background(self) -> tuple[str, ...]:
        """The processes that work behind the API: the RQ workers and the clock."""
        return tuple(name for name in self.procs if name.startswith("worker") or name == "clock")

    def stop(self) -> None:
        self.memory.stop()
        for name in list(self.procs):
            self.stop_process(name)
        if self.recorder:
            self.recorder.close()
        try:
            psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        except Exception as exc:  # noqa: BLE001 - report and carry on tearing down
            self.log(f"could not drop {self.db}: {exc}")
        redis_cli("FLUSHDB")

    # --- helpers for the benchmarks -----------------------------------------------------------------------------
    def sql(self, statement: str, timeout: float = 600) -> str:
        return psql(statement, self.db, timeout)

    def key(self, caller: str) -> str:
        return self.callers[caller]["api_key"]

    def sandbox(self, method: str, path: str, body: dict | None = None) -> dict:
        conn = http.client.HTTPConnection("127.0.0.1", self.sandbox_port, timeout=10)
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})  # fmt: skip
        return json.loads(conn.getresponse().read())

    def queue_lengths(self) -> dict[str, int]:
        return {q: int(redis_cli("LLEN", f"rq:queue:{q}") or 0) for q in ("default", "jogg", "callbacks")}

    def backlog(self) -> dict:
        """Jobs waiting per RQ queue, and webhook events stored but not processed yet."""
        return {**self.queue_lengths(), "events_received": int(self.sql(RECEIVED_EVENTS) or 0)}

    def quiesce(self, seconds: float = 20) -> dict:
        """Bench housekeeping between runs, so one benchmark's leftovers do not load the next.

        Cancels the queued motions a benchmark left (in SQL), waits up to `seconds` for the RQ queues
        to drain and the stored webhook events to be processed, then drops what is still waiting
        (deleting the RQ lists, marking the webhook events ignored in SQL). Returns what was
        left, so the report can say how far behind the workers were.
        """
        self.sql("UPDATE motions SET status = 'cancelled', dispatched_at = NULL WHERE status = 'queued'")
        deadline = time.monotonic() + seconds
        left = self.backlog()
        while time.monotonic() < deadline and sum(left.values()):
            time.sleep(0.5)
            left = self.backlog()
        if sum(left.values()):
            redis_cli("DEL", *(f"rq:queue:{q}" for q in self.queue_lengths()))
            self.sql("UPDATE jogg_events SET state = 'ignored' WHERE state = 'received'")
            self.sql("UPDATE motions SET status = 'cancelled', dispatched_at = NULL WHERE status = 'queued'")
        # This PostgreSQL runs with autovacuum off: without it, the rows this housekeeping and the run before
        # rewrote stay dead in the tables and indexes that the next run's dispatch and pre-flight queries read.
        self.sql("VACUUM ANALYZE motions, motion_events, jogg_events, notification_events, deliveries")
        self.sql("CHECKPOINT")  # the vacuum's writes flushed now, not during the next run's measurement
        time.sleep(RATE_WINDOW + 0.5)  # an empty JoggAI window for whoever comes next
        return left
