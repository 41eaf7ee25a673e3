"""1. Intake: POST /v1/motions against the baseline app, measured in the same run.

The baseline enqueues a job that nothing runs; the service's throughput is measured alike, with its RQ
workers and clock held (SIGSTOP) for the closed-loop runs, so the ratio compares two request paths, not a
request path against a request path plus the pre-flight and submissions of 3 workers sharing the 2 cores.
The same runs with the workers going are reported beside it (no target), and the fixed-rate latency is
always measured with them going.
"""

import json

from bench import load
from bench.stack import SANDBOX_IMAGE, SANDBOX_VOICE

BODY = json.dumps(
    {"image_url": SANDBOX_IMAGE + "600x800.png", "name": "bench", "voice_id": SANDBOX_VOICE, "model": "2.0"},
    separators=(",", ":"),
)
WRK_SECONDS, RATE, RATE_SECONDS = 10, 100, 15
BATCH_ITEMS, BATCH_SECONDS, BATCH_CONNECTIONS = 100, 10, 16  # 4 could all land on one of 2 web processes


def run(stack, log) -> dict:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.key('intake')}"}
    requests_file = stack.tmp / "intake.txt"
    load.write_requests(requests_file, [(headers, BODY)])
    out = {}
    url = "http://127.0.0.1:{}/v1/motions"
    log(f"intake: wrk {WRK_SECONDS}s against baseline")
    out["baseline_max"] = _closed_loop(stack, lambda: load.wrk(url.format(stack.base_port), requests_file, WRK_SECONDS))
    out["baseline_max"]["work_left"] = stack.quiesce()
    log(f"intake: wrk {WRK_SECONDS}s against service, its workers and clock held")
    with stack.paused(*stack.background()):
        out["service_max"] = _closed_loop(
            stack, lambda: load.wrk(url.format(stack.web_port), requests_file, WRK_SECONDS)
        )
        out["batch_max"] = _closed_loop(stack, lambda: _batch(stack, headers, log))
    out["service_max"]["work_left"], out["batch_max"]["work_left"] = stack.quiesce(), {}
    log(f"intake: wrk {WRK_SECONDS}s against service, its workers and clock running")
    out["service_max_workers_running"] = _closed_loop(
        stack, lambda: load.wrk(url.format(stack.web_port), requests_file, WRK_SECONDS)
    )
    out["service_max_workers_running"]["work_left"] = stack.quiesce()
    for name, port in (("baseline", stack.base_port), ("service", stack.web_port)):
        log(f"intake: {RATE} req/s open loop for {RATE_SECONDS}s against {name}")
        out[f"{name}_fixed"] = load.open_loop(
            port, "/v1/motions", RATE, RATE_SECONDS, lambda _i: (headers, BODY.encode())
        )
        out[f"{name}_fixed"]["work_left"] = stack.quiesce()
    out["throughput_ratio"] = round(out["service_max"]["rps"] / out["baseline_max"]["rps"], 3)
    out["throughput_ratio_workers_running"] = round(
        out["service_max_workers_running"]["rps"] / out["baseline_max"]["rps"], 3
    )
    out["batch_motions_per_s"] = round(out["batch_max"]["rps"] * BATCH_ITEMS, 1)
    out["batch_vs_single"] = round(out["batch_motions_per_s"] / out["service_max"]["rps"], 2)
    out["p99_ms_at_100rps"] = out["service_fixed"]["p99_ms"]
    stack.sql("CHECKPOINT")  # the batch's ~70,000 rows flushed here, not during the next section's measurement
    return out


def _closed_loop(stack, run) -> dict:
    """A closed-loop run after a CHECKPOINT, so the writes of the run before are not flushed during this one."""
    stack.sql("CHECKPOINT")
    return run()


def _batch(stack, headers: dict, log) -> dict:
    """POST /v1/motions/batch with BATCH_ITEMS motions each, closed loop: batches per second (workers held)."""
    item = json.loads(BODY)
    body = json.dumps({"items": [item] * BATCH_ITEMS}, separators=(",", ":"))
    requests_file = stack.tmp / "intake-batch.txt"
    load.write_requests(requests_file, [(headers, body)])
    log(f"intake: wrk {BATCH_SECONDS}s of batches of {BATCH_ITEMS} against service")
    url = f"http://127.0.0.1:{stack.web_port}/v1/motions/batch"
    return load.wrk(url, requests_file, BATCH_SECONDS, connections=BATCH_CONNECTIONS)
