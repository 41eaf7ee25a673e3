"""Prometheus metrics, collected across every process on a host (prometheus-client's multiprocess mode)."""

import os
import tempfile

# The mode is chosen when prometheus_client is first imported, so the shared folder must be known first.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "motion-gateway-metrics"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

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
    """Forget a dead process's live gauges (its counters stay counted)."""
    multiprocess.mark_process_dead(pid)
