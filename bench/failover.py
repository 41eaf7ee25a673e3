"""8. Failover: seconds from `SENTINEL FAILOVER` to the first successful submission afterwards.

A short run of the chaos scenario (chaos/sentinel_failover.py) on a stack of its own (chaos.stack: its own
Redis, here a loopback Sentinel group of devstack.sentinel, its own PostgreSQL database, sandbox, gunicorn, 3
workers and the clock): MOTIONS motions posted over POST_SECONDS s with the POST budget binding (10 per 2 s),
one forced failover once FAILOVER_AFTER of them are submitted. The figure is the chaos run's
`first_submission_after`: from the FAILOVER command to the first submission JoggAI accepted after the sentinels
named the new master. The chaos checks' verdict (drained, nothing lost or doubled) is reported with it.
The bench's own stack is left alone.
"""

from chaos.sentinel_failover import FailoverPlan
from chaos.sentinel_failover import run as failover_run

MOTIONS, POST_SECONDS, FAILOVER_AFTER, DRAIN_TIMEOUT = 60, 6.0, 20, 120.0


def run(_stack, log) -> dict:
    log(f"failover: {MOTIONS} motions on a Sentinel group, SENTINEL FAILOVER after {FAILOVER_AFTER} submissions")
    plan = FailoverPlan(motions=MOTIONS, post_seconds=POST_SECONDS, failover_after_submitted=FAILOVER_AFTER,
                        drain_timeout=DRAIN_TIMEOUT)  # fmt: skip
    result = failover_run(plan, log=lambda line: log(f"failover: {line}"))
    return {
        "motions": MOTIONS,
        "submitted_before_failover": result.submitted_before_failover,
        "new_master_named_after_s": result.new_master_named_after,
        "first_submission_after_s": result.first_submission_after,
        "responses_429": result.responses_429,
        "drain_seconds": result.drain_seconds,
        "run_seconds": result.wall_seconds,
        "checks_passed": result.passed,
        "failures": result.failures,
    }
