"""2. Webhook receipt: POST /webhooks/jogg (signed, a fresh event each time) against the baseline app."""

import hashlib
import hmac
import json
import time
import uuid

from bench import load
from bench.stack import WEBHOOK_SECRET

WRK_SECONDS, RATE, RATE_SECONDS, PREBUILT = 10, 200, 15, 40000


def event(i: int) -> tuple[dict, bytes]:
    """A generated_motion_success webhook as the sandbox sends it, for a JoggAI motion the gateway never made."""
    body = json.dumps(
        {
            "event_id": uuid.uuid4().hex,
            "event": "generated_motion_success",
            "timestamp": int(time.time()),
            "data": {"motion_id": f"bench{i}_{uuid.uuid4().hex[:12]}", "avatar_id": 1, "status": "completed",
                     "motion_preview_url": "https://cdn.sandbox.invalid/motions/x.mp4", "error": None},
        },
        separators=(",", ":"),
    ).encode()  # fmt: skip
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "JoggAI-Webhook/2.0",
        "X-Webhook-Event": "generated_motion_success",
        "X-Webhook-Signature": signature,
    }
    return headers, body


def run(stack, log) -> dict:
    requests_file = stack.tmp / "webhooks.txt"
    load.write_requests(requests_file, ((h, b.decode()) for h, b in (event(i) for i in range(PREBUILT))))
    out = {}
    for name, port in (("baseline", stack.base_port), ("service", stack.web_port)):
        log(f"webhooks: wrk {WRK_SECONDS}s against {name}")
        out[f"{name}_max"] = load.wrk(f"http://127.0.0.1:{port}/webhooks/jogg", requests_file, WRK_SECONDS)
        out[f"{name}_max"]["work_left"] = stack.quiesce()
    for name, port in (("baseline", stack.base_port), ("service", stack.web_port)):
        log(f"webhooks: {RATE} req/s open loop for {RATE_SECONDS}s against {name}")
        out[f"{name}_fixed"] = load.open_loop(port, "/webhooks/jogg", RATE, RATE_SECONDS, event)
        out[f"{name}_fixed"]["work_left"] = stack.quiesce()
    out["throughput_ratio"] = round(out["service_max"]["rps"] / out["baseline_max"]["rps"], 3)
    out["p99_ms_at_200rps"] = out["service_fixed"]["p99_ms"]
    return out
