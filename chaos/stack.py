"""One private motion-gateway stack for a chaos scenario, everything on 127.0.0.1.

Started per scenario and torn down after it:
- a private redis-server (devstack.redis.EmbeddedRedis) on a free port, so FLUSHALL touches nobody;
- a throwaway PostgreSQL database `mg_chaos_<random>` on the machine's server, reached through a
  small TCP proxy (`PgProxy`) that the PostgreSQL scenario cuts and restores;
- the JoggAI sandbox (`python -m sandbox`), gunicorn, 3 RQ workers and the clock as subprocesses;
- the callers' callback receiver: a threaded werkzeug server in this process, de-duplicating by
  webhook-id and checking each Standard Webhooks signature.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack.redis import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parent.parent
# Any database on the server to create the throwaway ones from; the proxy forwards to its host and port.
PG_ADMIN_URL = os.environ.get("CHAOS_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_PG = urlsplit(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"))
PG_HOST, PG_PORT = _PG.hostname or "127.0.0.1", _PG.port or 5432
PG_USER = _PG.netloc.rsplit("@", 1)[0] if "@" in _PG.netloc else "postgres"  # user[:password]
WEBHOOK_SECRET = "chaos-webhook-secret"  # noqa: S105  (a throwaway sandbox secret)
SANDBOX_KEY = "sandbox-key"
WORKERS = 3
CALLERS = ("alpha", "bravo", "charlie")


class PgProxy:
    """A TCP proxy in front of PostgreSQL: `cut()` refuses new and kills open connections, `restore()` reopens."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.cuts = 0
        self.killed_connections = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="pg-proxy")

    def start(self) -> PgProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def _call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.discard(writer)
        self.writers.discard(up_writer)

    async def _cut(self) -> int:
        if self.server:
            self.server.close()
            self.server = None
        killed = 0
        for writer in list(self.writers):
            with contextlib.suppress(Exception):
                sock = writer.get_extra_info("socket")
                if sock is not None:  # linger 0: close sends RST, as a crashed server's kernel would
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()  # RST, like a crashed server
                killed += 1
        self.writers.clear()
        return killed

    def cut(self) -> int:
        """Stop accepting and abort every open connection; returns how many sockets were killed."""
        killed = self._call(self._cut())
        self.cuts += 1
        self.killed_connections += killed
        return killed

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per callback would drown the run's output
        pass


class Receiver:
    """The callers' callback receiver: POST /cb/<caller>; de-duplicates by webhook-id."""

    def __init__(self):
        self.port = free_port()
        self.secrets: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.ids: dict[str, set[str]] = {}  # caller -> webhook-ids seen
        self.posts = 0
        self.duplicates = 0
        self.bad_signatures = 0
        self.types: Counter[str] = Counter()
        self._server = None
        self._thread = None

    def url(self, caller: str) -> str:
        return f"http://127.0.0.1:{self.port}/cb/{caller}"

    def set_secret(self, caller: str, secret: str) -> None:
        self.secrets[caller] = base64.b64decode(secret.removeprefix("whsec_"))

    def _verify(self, caller: str, headers, body: bytes) -> bool:
        key = self.secrets.get(caller)
        if key is None:
            return False
        msg = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        expected = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
        sigs = [s.split(",", 1)[-1] for s in (headers.get("webhook-signature") or "").split()]
        return any(hmac.compare_digest(expected, s) for s in sigs)

    def app(self, environ, start_response):
        request = Request(environ)
        caller = request.path.rsplit("/", 1)[-1]
        body = request.get_data()
        if not self._verify(caller, request.headers, body):
            with self.lock:
                self.bad_signatures += 1
            return Response("bad signature", status=400)(environ, start_response)
        webhook_id = request.headers.get("webhook-id", "")
        with self.lock:
            self.posts += 1
            seen = self.ids.setdefault(caller, set())
            if webhook_id in seen:
                self.duplicates += 1
            else:
                seen.add(webhook_id)
                with contextlib.suppress(Exception):
                    self.types[json.loads(body)["type"]] += 1
        return Response("", status=200)(environ, start_response)

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="receiver")
        self._thread.start()

    def stop(self) -> None:
        """Take the receiver down: the port refuses connections until start() again."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def all_ids(self) -> set[str]:
        with self.lock:
            return set().union(*self.ids.values()) if self.ids else set()


def settings_env(scale: dict) -> dict[str, str]:
    """The knobs the chaos runs scale down (retries, polls, sweep) or up (the POST budget)."""
    return {
        "JOGG_POST_RATE_LIMIT": "100 per 2 seconds",
        "POLL_INTERVALS": "5",
        "SWEEP_INTERVAL": "2",
        "SWEEP_STALE_AFTER": "3",
        "CALLBACK_RETRY_SCHEDULE": "0,1,2,4,8,8,8,8",
        "SUBMIT_RETRY_BASE": "0.5",
        "JOGG_READ_TIMEOUT": "2",
        "UNCERTAIN_GRACE": "5",  # production: 600; JoggAI's sandbox here finishes a motion in 1 s
        **scale,
    }


class Stack:
    """Start with `start()`, stop with `stop()` (idempotent); `run_dir` keeps every process's log."""

    def __init__(self, label: str, keep_logs: bool = False, extra_env: dict | None = None):
        self.label = label
        self.keep_logs = keep_logs
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"mg-chaos-{label}-"))
        self.db_name = f"mg_chaos_{uuid.uuid4().hex[:10]}"
        self.redis = EmbeddedRedis()
        self.pg = PgProxy(PG_HOST, PG_PORT)
        self.receiver = Receiver()
        self.sandbox_port = free_port()
        self.web_port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.workers: list[subprocess.Popen] = []
        self.callers: dict[str, dict] = {}
        self.extra_env = extra_env or {}
        self.db_created = False
        self.worker_seq = 0

    # -- URLs -----------------------------------------------------------------
    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def direct_db_url(self) -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.db_name}"

    @property
    def proxied_db_url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.pg.port}/{self.db_name}"

    def env(self) -> dict[str, str]:
        prom = self.run_dir / "prom"
        prom.mkdir(exist_ok=True)
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "APP_ENV": "production",
            "DATABASE_URL": self.proxied_db_url,
            "REDIS_URL": self.redis.url,
            "JOGG_BASE_URL": self.sandbox_url,
            "JOGG_API_KEY": SANDBOX_KEY,
            "JOGG_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PUBLIC_BASE_URL": self.web_url,
            "OPS_TOKEN": "chaos-ops-token",
            "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
            "IMAGE_ALLOWED_NETWORKS": "127.0.0.0/8",  # pre-flight fetches the sandbox's test images
            "PROMETHEUS_MULTIPROC_DIR": str(prom),
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "16",
            **settings_env(self.extra_env),
        }

    def sandbox_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SANDBOX_HOST": "127.0.0.1",
            "SANDBOX_PORT": str(self.sandbox_port),
            "SANDBOX_API_KEY": SANDBOX_KEY,
            "SANDBOX_MOTION_SECONDS": "1",
            "SANDBOX_RATE_LIMIT": "100",
            "SANDBOX_RATE_WINDOW_SECONDS": "2",
            "SANDBOX_CREDITS": "100000",
            "SANDBOX_HANG_SECONDS": "5",
            "SANDBOX_WEBHOOK_URL": f"{self.web_url}/webhooks/jogg",
            "SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SANDBOX_WEBHOOK_RETRY_DELAY_SECONDS": "1",
            "SANDBOX_SEED": "7",
        }

    # -- processes ------------------------------------------------------------
    def _log(self, name: str):
        return open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self._log(name)
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return proc

    def _flask(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {out.stderr[-2000:]}")
        return out.stdout

    def start(self) -> Stack:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        self.redis.start()
        self.pg.start()
        self.receiver.start()
        self._flask("db", "upgrade")
        for name in CALLERS:
            creds = json.loads(self._flask("callers", "create", name, "--callback-url", self.receiver.url(name)))
            self.callers[name] = creds
            self.receiver.set_secret(name, creds["webhook_secret"])
        self.procs["sandbox"] = self._spawn("sandbox", [sys.executable, "-m", "sandbox"], self.sandbox_env())
        web = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.web_port}"]
        self.procs["web"] = self._spawn("web", [*web, "wsgi:app"], self.env())
        for _ in range(WORKERS):
            self.start_worker()
        self.procs["clock"] = self._spawn("clock", [sys.executable, "-m", "workers", "clock"], self.env())
        self._wait_http(f"{self.sandbox_url}/_sandbox/stats")
        self._wait_http(f"{self.web_url}/readyz")
        return self

    def _wait_http(self, url: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not come up (logs in {self.run_dir})")

    def start_worker(self) -> subprocess.Popen:
        self.worker_seq += 1
        proc = self._spawn(f"worker-{self.worker_seq}", [sys.executable, "-m", "workers", "worker"], self.env())
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen) -> int:
        """SIGKILL a worker process and any descendants (jobs run in the worker; nothing should be left)."""
        killed = 0
        with contextlib.suppress(psutil.NoSuchProcess):
            family = psutil.Process(proc.pid).children(recursive=True)
            proc.send_signal(signal.SIGKILL)
            killed += 1
            for child in family:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
                    killed += 1
        proc.wait(timeout=10)
        self.workers.remove(proc)
        return killed

    def sandbox_config(self, **knobs) -> None:
        resp = requests.post(f"{self.sandbox_url}/_sandbox/config", json=knobs, timeout=5)
        resp.raise_for_status()

    def sandbox_stats(self) -> dict:
        return requests.get(f"{self.sandbox_url}/_sandbox/stats", timeout=10).json()

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.direct_db_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def dead_processes(self) -> list[str]:
        gone = [name for name, proc in self.procs.items() if proc.poll() is not None]
        return gone + [f"worker pid {p.pid}" for p in self.workers if p.poll() is not None]

    def stop(self) -> None:
        everything = list(self.procs.values()) + list(self.workers)
        for proc in everything:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in everything:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # reap anything a killed worker may have left in its own process group
        for proc in psutil.process_iter(["environ"]):
            with contextlib.suppress(psutil.Error, TypeError):
                if (proc.info["environ"] or {}).get("REDIS_URL") == self.redis.url:
                    proc.kill()
        self.procs.clear()
        self.workers.clear()
        self.receiver.stop()
        self.pg.stop()
        with contextlib.suppress(Exception):
            self.redis.stop()
        if self.db_created:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self.db_created = False
        if not self.keep_logs:
            import shutil

            shutil.rmtree(self.run_dir, ignore_errors=True)
