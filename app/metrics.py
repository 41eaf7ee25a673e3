"""Prometheus metrics, collected across every process of this deployment (prometheus-client's multiprocess mode)."""

import fcntl
import os
import re
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "instance" / "metrics"
# Files that belong to one process: prometheus-client's `<kind>_<pid>.db`, and our claims `live_<pid>.pid`.
OWNED_FILE = re.compile(r"_(\d+)\.(db|pid)$")


def claim_folder(folder: Path, pid: int) -> bool:
    """Join the metrics folder; empty it first when no other live process uses it. True when it was emptied.

    Runs under an exclusive lock and leaves this process's claim before releasing it, so of several processes
    starting together the first empties the folder and the others keep what it and they write.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        owners = {path: int(match[1]) for path in folder.iterdir() if (match := OWNED_FILE.search(path.name))}
        live = {owner for owner in set(owners.values()) - {pid} if process_alive(owner)}
        for path, owner in owners.items():
            if not live or (path.suffix == ".pid" and owner not in live):
                path.unlink(missing_ok=True)
        (folder / f"live_{pid}.pid").touch()
    return not live


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# The mode is chosen when prometheus_client is first imported, so the folder must be known and claimed first.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(DEFAULT_FOLDER)
FOLDER = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
claim_folder(FOLDER, os.getpid())

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter("mg_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
HTTP_LATENCY = Histogram(
    "mg_http_request_duration_seconds", "Time to answer an HTTP request", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)  # fmt: skip
JOGG_CALLS = Counter("mg_jogg_calls_total", "Calls to JoggAI by endpoint and business code", ["endpoint", "code"])
JOGG_LATENCY = Histogram("mg_jogg_call_duration_seconds", "Time JoggAI took to answer", ["endpoint"])
SUBMISSIONS = Counter("mg_submissions_total", "Submit job outcomes", ["outcome"])
WEBHOOKS = Counter("mg_jogg_webhooks_total", "JoggAI webhooks received", ["result"])
AUTH_FAILURES = Counter(
    "mg_auth_failures_total", "Refused credentials: kind api_key, webhook_signature or ops; reason", ["kind", "reason"]
)
DELIVERIES = Counter(
    "mg_callback_deliveries_total", "Callback attempts by outcome and attempt number", ["outcome", "attempt"]
)
PREFLIGHT_CHECKS = Counter(
    "mg_preflight_checks_total",
    "Pre-flight verdicts: passed, warned, image_rejected, image_unreachable, voice_unknown, skipped",
    ["outcome"],
)
CREDITS_SPENT = Counter(
    "motion_gateway_credits_spent",
    "JoggAI credits charged: POSTs accepted or in doubt (docs/credits.md)",
    ["caller", "model"],
)
SWEEPS = Counter("mg_sweep_runs_total", "Self-healing sweeps run")
SWEEP_RECOVERED = Counter("mg_sweep_recovered_total", "Work the sweep recovered", ["kind"])


def exposition(extra_collectors=()) -> tuple[bytes, str]:
    """The text exposition of every process's metrics plus live state read at scrape time."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    for collector in extra_collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Forget a dead process's live gauges and its claim on the folder (its counters stay counted)."""
    multiprocess.mark_process_dead(pid)
    (FOLDER / f"live_{pid}.pid").unlink(missing_ok=True)
