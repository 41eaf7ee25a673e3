"""CI: README's "Running in production", followed word for word on a fresh clone of HEAD.

PostgreSQL (a fresh database, dropped after), Redis (a database of its own, flushed before and
after) and the sandbox as JoggAI are real; `make start` runs the stack; the webhook is registered
and a caller created with the CLI; a motion goes to `completed` by webhook and its signed callback
reaches a local receiver. Every process and the database are cleaned up; any failure exits 1.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import redis
import requests
from standardwebhooks import Webhook

REPO = Path(__file__).resolve().parent.parent
ADMIN_DATABASE_URL = os.environ.get("CI_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
RECIPE_REDIS_URL = os.environ.get("RECIPE_REDIS_URL", "redis://127.0.0.1:6379/9")
START_TIMEOUT = 300  # seconds: the first `make start` creates .venv and installs the requirements
MOTION = {  # image_url: the sandbox's test image (pre-flight fetches it; this machine has no internet)
    "name": "Recipe",
    "voice_id": "en-US-JennyNeural",
    "model": "2.0",
}

# The README's commands, run exactly as written (each is checked to be in README.md first).
COPY_SETTINGS = "cp .env.example .env"
START = "make start"
REGISTER = ".venv/bin/flask --app app jogg register-webhook"
CREATE_CALLER = ".venv/bin/flask --app app callers create orders-svc --callback-url http://orders-svc:8080/hooks"


class Failure(Exception):
    """A step of the recipe did not do what the README says."""


class Receiver(ThreadingHTTPServer):
    """The calling service's callback endpoint: keeps every request it gets, answers 204."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CallbackHandler)
        self.received: list[tuple[dict, bytes]] = []

    @property
    def url(self) -> str:
        """Where callbacks should go."""
        return f"http://127.0.0.1:{self.server_port}/hooks"


class CallbackHandler(BaseHTTPRequestHandler):
    """Stores the callback's headers and raw body."""

    def do_POST(self):
        """One callback."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args):
        """Quiet."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(what: str, check, timeout: float, alive=None):
    """Poll `check` until it returns something truthy; fail naming `what` (or as soon as `alive` says no)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise Failure(f"a process exited while waiting for {what}")
        try:
            value = check()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise Failure(f"timed out after {timeout:.0f} s waiting for {what}")


def readme_has(*texts: str) -> None:
    """The step is the README's: each text appears in it verbatim."""
    readme = (REPO / "README.md").read_text()
    missing = [text for text in texts if text not in readme]
    if missing:
        raise Failure(f"README.md does not say {missing!r}: the recipe and this test have drifted apart")


def recipe_commands() -> list[str]:
    """Every command in the shell blocks of README's "Running in production", in order."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Running in production\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def process_env() -> dict[str, str]:
    """The environment a newcomer's shell would have: no settings of ours, no virtualenv on PATH."""
    names = {line.split("=", 1)[0] for line in (REPO / ".env.example").read_text().splitlines() if "=" in line}
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith(("FLASK_", "PROMETHEUS_"))}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(REPO / ".venv")))
    return env


def fill_env_file(path: Path, values: dict[str, str]) -> None:
    """Set NAME=value lines in .env as an operator would in an editor; every name must already be there."""
    text = path.read_text()
    for name, value in values.items():
        text, count = re.subn(rf"(?m)^{name}=.*$", f"{name}={value}", text)
        if count != 1:
            raise Failure(f".env.example has {count} lines for {name}, expected 1")
    path.write_text(text)


def run(command: str, cwd: Path, env: dict[str, str]) -> str:
    """Run one README command in a shell, failing loudly; returns its standard output."""
    print(f"$ {command}", flush=True)
    # shell=True: the README's commands are shell commands, run as a reader would paste them.
    done = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)  # noqa: S602
    if done.returncode != 0:
        raise Failure(f"{command!r} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def create_database() -> str:
    """A fresh PostgreSQL database on the CI server; returns its URL."""
    name = f"mg_recipe_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    """Drop the recipe's database, whoever is still connected."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop(process: subprocess.Popen | None, name: str) -> None:
    """SIGTERM the process group, then SIGKILL what is left after 30 s."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop on SIGTERM; killing it", flush=True)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class Recipe:
    """One run of the recipe, holding what must be cleaned up."""

    def __init__(self, workdir: Path):
        self.clone = workdir / "motion-gateway"
        self.env = process_env()
        self.web_port, self.sandbox_port = free_port(), free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.receiver = Receiver()
        self.stack_log = workdir / "make-start.log"
        self.sandbox = self.stack = self.database_url = None

    def start_sandbox(self) -> None:
        """JoggAI: the repo's sandbox, motions finishing after 3 s, webhooks only to registered endpoints."""
        knobs = {"SANDBOX_PORT": str(self.sandbox_port), "SANDBOX_MOTION_SECONDS": "3", "SANDBOX_API_KEY": "ci-key"}
        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "sandbox"], cwd=self.clone, env={**self.env, **knobs},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until("the sandbox", lambda: requests.get(f"{self.sandbox_url}/_sandbox/stats", timeout=2).ok, 30)

    def configure(self) -> None:
        """Step 1: .env from .env.example, filled in with this machine's servers."""
        readme_has(COPY_SETTINGS, "DATABASE_URL", "REDIS_URL", "JOGG_API_KEY", "PUBLIC_BASE_URL", "OPS_TOKEN")
        run(COPY_SETTINGS, self.clone, self.env)
        self.database_url = create_database()
        values = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": RECIPE_REDIS_URL,
            "JOGG_BASE_URL": self.sandbox_url,
            "JOGG_API_KEY": "ci-key",
            "PUBLIC_BASE_URL": self.web,
            "OPS_TOKEN": secrets.token_urlsafe(32),
            "CALLBACK_ALLOWED_NETWORKS": "127.0.0.1/32",
            "IMAGE_ALLOWED_NETWORKS": "127.0.0.1/32",
            "PORT": str(self.web_port),
        }
        readme_has(*(f"`{name}`" for name in values))
        fill_env_file(self.clone / ".env", values)

    def start(self) -> None:
        """Step 2: the one command; it must migrate, then keep web, two workers and the clock running."""
        readme_has(f"   {START}\n")
        print(f"$ {START}", flush=True)
        with self.stack_log.open("w") as log:
            self.stack = subprocess.Popen(  # noqa: S602 (a README command, pasted into a shell)
                START, shell=True, cwd=self.clone, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        alive = lambda: self.stack.poll() is None  # noqa: E731
        wait_until("GET /readyz 200", lambda: requests.get(f"{self.web}/readyz", timeout=2).ok, START_TIMEOUT, alive)
        started = set(re.findall(r"system +\| (\w+\.\d+) started \(pid=", self.stack_log.read_text()))
        if started != {"web.1", "worker.1", "worker.2", "clock.1"}:
            raise Failure(f"make start ran {sorted(started)}, not web, two workers and the clock")

    def register_webhook(self) -> None:
        """Step 3: register the receiver with JoggAI; the secret is printed and JoggAI lists the endpoint."""
        readme_has(REGISTER)
        out = json.loads(run(REGISTER, self.clone, self.env))
        listed = requests.get(f"{self.sandbox_url}/v2/endpoints", headers={"x-api-key": "ci-key"}, timeout=5).json()
        if [(e["url"], e["secret"]) for e in listed["data"]] != [(f"{self.web}/webhooks/jogg", out["secret"])]:
            raise Failure(f"JoggAI's endpoints {listed['data']} do not match the registration {out}")

    def create_caller(self) -> dict:
        """Step 4: a caller whose callbacks go to the local receiver."""
        readme_has(CREATE_CALLER)
        command = CREATE_CALLER.replace("http://orders-svc:8080/hooks", self.receiver.url)
        return json.loads(run(command, self.clone, self.env))

    def motion_completes_by_webhook(self, caller: dict) -> str:
        """A motion goes queued -> processing -> completed, the last move made by JoggAI's webhook."""
        auth = {"Authorization": f"Bearer {caller['api_key']}"}
        motion = {**MOTION, "image_url": f"{self.sandbox_url}/_sandbox/images/1024x1536.png"}
        created = requests.post(f"{self.web}/v1/motions", json=motion, headers=auth, timeout=10)
        if created.status_code != 202:
            raise Failure(f"POST /v1/motions answered {created.status_code}: {created.text}")
        url = f"{self.web}/v1/motions/{created.json()['id']}"
        done = lambda: requests.get(url, headers=auth, timeout=10).json()["status"] == "completed"  # noqa: E731
        wait_until("the motion to complete", done, 60, lambda: self.stack.poll() is None)
        last = requests.get(f"{url}/events", headers=auth, timeout=10).json()["items"][-1]
        if (last["to_status"], last["source"]) != ("completed", "webhook"):
            raise Failure(f"the motion was completed by {last['source']}, not by the webhook: {last}")
        return created.json()["id"]

    def callback_arrives_signed(self, caller: dict, motion_id: str) -> None:
        """The caller's receiver gets motion.completed, signed with the caller's secret."""

        def completed():
            return [r for r in self.receiver.received if json.loads(r[1]).get("type") == "motion.completed"]

        [(headers, body)] = wait_until("the motion.completed callback", completed, 30)
        event = Webhook(caller["webhook_secret"]).verify(body, headers)  # raises on a bad signature
        if event["data"]["id"] != motion_id:
            raise Failure(f"the callback is about {event['data']['id']}, not {motion_id}")

    def still_running(self) -> None:
        """Nothing stopped: the release step finished long ago and the stack still runs."""
        log = self.stack_log.read_text()
        if self.stack.poll() is not None or re.search(r"system +\| (web|worker|clock)\.\d+ stopped", log):
            raise Failure("a process of make start stopped")

    def cleanup(self) -> None:
        """Stop every process, drop the database, flush the Redis database, stop the receiver."""
        stop(self.stack, "make start")
        stop(self.sandbox, "the sandbox")
        self.receiver.shutdown()
        if self.database_url:
            drop_database(self.database_url)
        redis.Redis.from_url(RECIPE_REDIS_URL).flushdb()


def main() -> int:
    """Follow the recipe; print where it failed and the stack's log on failure."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="mg-recipe-"))
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(workdir / "motion-gateway")], check=True)
    redis.Redis.from_url(RECIPE_REDIS_URL).flushdb()
    recipe = Recipe(workdir)
    threading.Thread(target=recipe.receiver.serve_forever, daemon=True).start()
    try:
        if recipe_commands() != [COPY_SETTINGS, START, REGISTER, CREATE_CALLER]:
            raise Failure(f"README's recipe runs {recipe_commands()!r}; this test runs other commands")
        recipe.start_sandbox()
        recipe.configure()
        recipe.start()
        print(f"  stack ready after {time.monotonic() - started:.0f} s", flush=True)
        recipe.register_webhook()
        caller = recipe.create_caller()
        recipe.callback_arrives_signed(caller, recipe.motion_completes_by_webhook(caller))
        recipe.still_running()
    except Exception as exc:  # noqa: BLE001 (any failure is reported the same way)
        print(f"production recipe FAILED: {exc}", file=sys.stderr)
        if recipe.stack_log.exists():
            print(recipe.stack_log.read_text()[-6000:], file=sys.stderr)
        return 1
    finally:
        recipe.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"production recipe: passed in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
