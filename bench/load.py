"""Load generators: wrk (closed loop, for maximum throughput) and a fixed-rate open-loop generator in Python."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

WRK_LUA = r"""
local reqs = {}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2])
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local tab = string.find(line, "\t", 1, true)
      local headers = {}
      for pair in string.gmatch(string.sub(line, 1, tab - 1), "[^|]+") do
        local colon = string.find(pair, ":", 1, true)
        headers[string.sub(pair, 1, colon - 1)] = string.sub(pair, colon + 1)
      end
      table.insert(reqs, wrk.format("POST", wrk.path, headers, string.sub(line, tab + 1)))
    end
    i = i + 1
  end
  pos = 0
end
function request()
  pos = pos + 1
  if pos > #reqs then pos = 1 end
  return reqs[pos]
end
function done(summary, latency, requests)
  local s = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, s.status, s.connect, s.read, s.write, s.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def ensure_wrk(log) -> str:
    """wrk from Debian; installed with apt-get if missing (running apt-get update first if needed)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk with apt-get")
    if subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, timeout=300).returncode:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, timeout=300, check=True)
    return shutil.which("wrk") or "/usr/bin/wrk"


def write_requests(path: Path, items) -> None:
    """items: (headers dict, body str) pairs; one line each for the wrk script."""
    with open(path, "w") as f:
        for headers, body in items:
            f.write("|".join(f"{k}:{v}" for k, v in headers.items()) + "\t" + body + "\n")


def wrk(url: str, requests_file: Path, seconds: int, connections: int = 32, threads: int = 2) -> dict:
    """Closed-loop maximum throughput; returns requests/s, p50/p99 (ms) and error counts."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_LUA)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", script.name,
         url, "--", str(requests_file), str(threads)],
        capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-1000:]} {out.stderr[-1000:]}")
    raw = json.loads(line[len("WRKJSON ") :])
    errors = raw["non2xx"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "errors": errors,
        "non2xx": raw["non2xx"],
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def open_loop(
    port: int, path: str, rate: float, seconds: float, make: Callable[[int], tuple[dict, bytes]], concurrency: int = 48
) -> dict:
    """Send request i at start + i/rate whatever happened before (open loop), over keep-alive connections.

    Latency is measured from the intended send time, so a stall shows up in every request it delays
    (no coordinated omission). `make(i)` returns (headers, body).
    """
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    lock = threading.Lock()
    nxt = [0]
    latencies: list[float] = []
    failures = [0]

    def worker():
        conn = None
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= total:
                break
            intended = start + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers, body = make(i)
            ok = False
            for _ in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                    conn.request("POST", path, body=body, headers=headers)
                    answer = conn.getresponse()
                    answer.read()
                    ok = 200 <= answer.status < 300
                    if answer.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
            done = time.perf_counter()
            with lock:
                latencies.append((done - intended) * 1000)
                if not ok:
                    failures[0] += 1
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.perf_counter() - start
    return {
        "target_rps": rate,
        "sent": len(latencies),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
        "errors": failures[0],
    }
