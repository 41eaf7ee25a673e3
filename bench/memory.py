"""6. Memory: peak RSS of the web workers and the RQ worker processes over the whole run.

Sampled every 0.5 s (VmRSS) from the start of the stack, plus each live process's own high-water
mark (VmHWM) at the end. gunicorn recycles a web worker after ~10,000 requests (max_requests), so
the sampled figure is the one that covers workers that were replaced. RQ workers run their jobs in
their own process (no fork per job), so the worker figure covers the jobs too.
"""


def run(stack, log) -> dict:
    stack.memory.sample("VmRSS")
    stack.memory.sample("VmHWM")
    peaks = stack.memory.peaks
    return {role: round(kb / 1024, 1) for role, kb in (("web_worker_mb", peaks.get("web_worker", 0)),
                                                      ("rq_worker_mb", peaks.get("rq_worker", 0)))}  # fmt: skip
