"""No secret in any log line: real gunicorn, worker, clock and release processes in production mode, every secret used.

The stack runs as in production (`APP_ENV=production`, JSON logs, gunicorn.conf.py with its access log, LOG_LEVEL
DEBUG to show as much as possible) against a Redis that requires a password (once a plain `redis://` server, once a
Sentinel group named by `redis+sentinel://`, servers and sentinels behind the same password) and the JoggAI
sandbox. With TEST_DATABASE_URL the database is PostgreSQL under a role with a password in DATABASE_URL; without it
the database is a SQLite file, whose URL carries no password, so that one secret is not exercised in that mode.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import normalise_database_url
from devstack.redis import command as redis_command
from devstack.redis import free_port, wait_for
from devstack.sentinel import SentinelGroup
from tests.jogg_fixtures import wait_until

ROOT = Path(__file__).resolve().parents[1]


def unique(label: str) -> str:
    """A secret value no log line could contain by chance."""
    return f"{label}-{secrets.token_urlsafe(18)}"


class Stack:
    """Processes of one production-like deployment, each writing its stdout and stderr to its own files."""

    def __init__(self, folder: Path, env: dict[str, str]):
        """Logs go to folder/logs; env is every process's environment."""
        self.logs, self.env, self.running = folder / "logs", env, []
        self.logs.mkdir()

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        """Start one process in its own process group, its output in logs/<name>.out and .err."""
        out, err = (open(self.logs / f"{name}.{kind}", "wb") for kind in ("out", "err"))  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=err, start_new_session=True)
        self.running.append(proc)
        return proc

    def run(self, name: str, *argv: str) -> subprocess.CompletedProcess:
        """Run one command to its end; its stderr is kept as a log, its stdout returned (CLI output, not a log)."""
        with open(self.logs / f"{name}.err", "wb") as err:
            done = subprocess.run(argv, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=err, timeout=120)
        assert done.returncode == 0, (self.logs / f"{name}.err").read_text()
        return done

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left after 20 s."""
        for proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def lines(self) -> dict[str, list[str]]:
        """Every log line of every process, by file name."""
        return {path.name: path.read_text(errors="replace").splitlines() for path in sorted(self.logs.iterdir())}


@pytest.fixture(params=["redis", "sentinel"])
def redis_with_password(request, tmp_path):
    """A private redis-server, or a Sentinel group, that requires a password; yields its URL (the password in it)."""
    password, port = unique("redispw"), free_port()
    if request.param == "sentinel":
        with SentinelGroup(password=password) as group:
            yield group.url, password
        return
    argv = [*redis_command(port, str(tmp_path)), "--requirepass", password]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    wait_for(url, server)
    yield url, password
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def database_with_password(tmp_path):
    """With TEST_DATABASE_URL: a fresh database owned by a new role with a password; else a SQLite file."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path}/gateway.db", None
        return
    server = make_url(normalise_database_url(server_url))
    role, password, name = f"mg_logs_{uuid.uuid4().hex[:8]}", unique("pgpw"), f"mg_logs_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER {role}'))
    try:
        yield (
            server.set(username=role, password=password, database=name).render_as_string(hide_password=False),
            password,
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@pytest.fixture
def stack(tmp_path, redis_with_password, database_with_password):
    """Release, sandbox, gunicorn, worker and clock, all in production mode with unique secrets; stopped after."""
    (redis_url, redis_password), (database_url, database_password) = redis_with_password, database_with_password
    web_port, sandbox_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    values = {"jogg_key": unique("joggkey"), "jogg_webhook": unique("jogghook"), "ops": unique("opstoken")}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "TEST_", "FLASK_"))},
        "APP_ENV": "production", "LOG_LEVEL": "DEBUG", "FLASK_SKIP_DOTENV": "1", "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PUBLIC_BASE_URL": web,
        "JOGG_BASE_URL": f"http://127.0.0.1:{sandbox_port}", "JOGG_API_KEY": values["jogg_key"],
        "JOGG_WEBHOOK_SECRET": values["jogg_webhook"], "OPS_TOKEN": values["ops"],
        "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8", "BIND": f"127.0.0.1:{web_port}", "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4", "WORKER_NICENESS": "0", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "SANDBOX_HOST": "127.0.0.1", "SANDBOX_PORT": str(sandbox_port), "SANDBOX_API_KEY": values["jogg_key"],
        "SANDBOX_WEBHOOK_URL": f"{web}/webhooks/jogg", "SANDBOX_WEBHOOK_SECRET": values["jogg_webhook"],
        "SANDBOX_MOTION_SECONDS": "1",
        "IMAGE_ALLOWED_NETWORKS": "127.0.0.0/8",  # pre-flight fetches the sandbox's test image, and logs doing so
    }  # fmt: skip
    running = Stack(tmp_path, env)
    bin_dir = Path(sys.executable).parent
    running.run("release", str(bin_dir / "flask"), "--app", "app", "db", "upgrade")
    running.start("sandbox", sys.executable, "-m", "sandbox")
    running.start("web", str(bin_dir / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app")
    for name in ("worker-1", "worker-2"):
        running.start(name, sys.executable, "-m", "workers", "worker")
    running.start("clock", sys.executable, "-m", "workers", "clock")
    wait_until(lambda: _answers(f"{web}/readyz"), timeout=60, interval=0.25)
    passwords = {"redis password": redis_password, "database password": database_password}
    running.image = f"http://127.0.0.1:{sandbox_port}/_sandbox/images/1024x1536.png"
    running.web, running.secrets = web, {**values, **{k: v for k, v in passwords.items() if v}}
    yield running
    running.stop()


def test_no_secret_reaches_any_log_line(stack, httpserver):
    """Keys (Bearer and Basic), the ops token, callback and JoggAI secrets, URL passwords: none in any log line."""
    hook_password, hook_token = unique("hookpw"), unique("hooktoken")
    httpserver.expect_request("/hooks", method="POST").respond_with_data("ok")
    hook = httpserver.url_for("/hooks").replace("localhost", f"hookuser:{hook_password}@127.0.0.1")
    hook += f"?token={hook_token}"
    alice, bob = (_create_caller(stack, name, hook) for name in ("alice", "bob"))
    sent = [*_use_caller_keys(stack.web, alice, bob), *_use_ops_token(stack.web, stack.secrets["ops"])]
    sent += _signed_webhooks(stack.web, stack.secrets["jogg_webhook"])
    _malformed_requests(stack.web, stack.secrets["ops"], alice["api_key"])
    motion_id = _create_motion(stack.web, alice["api_key"], stack.image)
    wait_until(lambda: _completed_callback(httpserver, motion_id), timeout=90, interval=0.25)
    signatures = [request.headers["webhook-signature"] for request, _ in httpserver.log]
    stack.stop()

    logs = stack.lines()
    assert any('"POST /v1/motions HTTP/1.1" 202' in line for line in logs["web.out"]), "no access log line"
    assert any(_is_json_log(line) for line in logs["worker-1.err"] + logs["worker-2.err"]), "no production log"
    secrets_used = {
        **stack.secrets, "hook password": hook_password, "hook token": hook_token,
        "alice key": alice["api_key"], "bob key": bob["api_key"],
        "alice callback secret": alice["webhook_secret"], "bob callback secret": bob["webhook_secret"],
        **{f"sent credential {i}": value for i, value in enumerate(sent)},
        **{f"callback signature {i}": value.split(",", 1)[1] for i, value in enumerate(signatures)},
    }  # fmt: skip
    leaks = [
        f"{name} ({form}) in {file}: line {number}"
        for file, lines in logs.items()
        for number, line in enumerate(lines, 1)
        for name, secret in secrets_used.items()
        for form, shape in _forms(secret).items() if shape in line
    ]  # fmt: skip
    assert leaks == []


def _answers(url: str) -> bool:
    """Whether url answers 200 now."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _create_caller(stack: Stack, name: str, hook: str) -> dict:
    """`flask callers create` with a callback URL carrying a password; returns its printed credentials."""
    done = stack.run(f"cli-{name}", str(Path(sys.executable).parent / "flask"), "--app", "app", "callers", "create",
                     name, "--callback-url", hook)  # fmt: skip
    return json.loads(done.stdout)


def _use_caller_keys(web: str, alice: dict, bob: dict) -> list[str]:
    """Send keys every way a client might: Bearer, Basic (as user, as password), in a query; returns what was sent."""
    sent = []
    for key in (alice["api_key"], bob["api_key"]):
        requests.get(f"{web}/v1/motions", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        for pair in (f"{key}:", f"{key}:{key}", f"svc:{key}"):
            basic = base64.b64encode(pair.encode()).decode()
            requests.get(f"{web}/v1/motions", headers={"Authorization": f"Basic {basic}"}, timeout=10)
            sent.append(basic)
        requests.get(f"{web}/v1/motions", auth=(key, "x"), timeout=10)
        requests.get(f"{web}/v1/motions", params={"api_key": key, "limit": 5}, timeout=10)
        requests.get(f"{web}/v1/motions/mot_x", params={"password": key}, timeout=10)
    return sent


def _use_ops_token(web: str, token: str) -> list[str]:
    """The ops token by header, through the login form, and as the refused ?token=; returns the login cookie."""
    assert requests.get(f"{web}/ops/data.json", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
    browser = requests.Session()
    login = browser.post(f"{web}/ops/login", data={"token": token}, allow_redirects=False, timeout=10)
    assert login.status_code == 303
    assert browser.get(f"{web}/ops", timeout=10).status_code == 200
    assert requests.get(f"{web}/ops", params={"token": token}, timeout=10).status_code == 401
    requests.post(f"{web}/ops/login", data={"token": token + "x"}, timeout=10)
    return [browser.cookies.get("mg_ops")]


def _malformed_requests(web: str, token: str, key: str) -> None:
    """Requests gunicorn cannot parse, carrying secrets where its error lines quote the request."""
    host, port = web.removeprefix("http://").split(":")
    for raw in (
        f"GET /ops?token={token} HTTP/1.1 junk\r\nHost: x\r\n\r\n",
        f"GET /v1/motions?api_key={key} HTTP/9.9\r\nHost: x\r\n\r\n",
        f"GET /v1/motions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\x01\r\n\r\n",
        f"GET /v1/motions HTTP/1.1\r\nHost: x\r\nBearer {key}: 1\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(raw.encode())
            assert conn.recv(4096).startswith(b"HTTP/1.1 4")


def _signed_webhooks(web: str, secret: str) -> list[str]:
    """One webhook signed with the JoggAI secret, one with a wrong signature; returns the signature sent."""
    body = json.dumps({"event": "generated_motion_success", "data": {"motion_id": "unknown-motion"}}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    url, headers = f"{web}/webhooks/jogg", {"Content-Type": "application/json"}
    assert requests.post(url, data=body, headers={**headers, "X-Webhook-Signature": signature}, timeout=10).ok
    bad = requests.post(url, data=body, headers={**headers, "X-Webhook-Signature": "0" * 64}, timeout=10)
    assert bad.status_code == 401
    return [signature]


def _create_motion(web: str, key: str, image: str) -> str:
    """Create one motion through the API (pre-flight on, the sandbox's image); returns its id."""
    body = {"image_url": image, "name": "logged", "voice_id": "en-US-JennyNeural", "model": "2.0"}
    resp = requests.post(f"{web}/v1/motions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert resp.status_code == 202, resp.text
    return resp.json()["id"]


def _completed_callback(httpserver, motion_id: str) -> bool:
    """Whether the receiver got the signed motion.completed callback of this motion."""
    for request, _ in httpserver.log:
        event = json.loads(request.get_data())
        if event["type"] == "motion.completed" and event["data"]["id"] == motion_id:
            return True
    return False


def _is_json_log(line: str) -> bool:
    """Whether a line is one of our production JSON log lines."""
    try:
        return "level" in json.loads(line)
    except ValueError:
        return False


def _forms(secret: str) -> dict[str, str]:
    """The shapes a secret could take in a log line: as is, URL-encoded, base64."""
    return {
        "as is": secret,
        "url-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "base64": base64.b64encode(secret.encode()).decode().rstrip("="),
    }
