"""Losing a whole host (chaos/two_hosts.py): two process sets share PostgreSQL and Redis, one is SIGKILLed
mid-run; once with plain Redis, once on a Sentinel group failing over at the same moment.

Needs PostgreSQL like the other chaos runs (`TEST_DATABASE_URL` and `CHAOS_TESTS=1`, the PostgreSQL mode
of `.ci/run`); about 45-70 s each on 2 cores.
"""

import os

import pytest

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(
        not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("CHAOS_TESTS") == "1"),
        reason="chaos runs are opt-in (CHAOS_TESTS=1) and need PostgreSQL (TEST_DATABASE_URL)",
    ),
]

if os.environ.get("TEST_DATABASE_URL"):
    os.environ.setdefault(
        "CHAOS_PG_ADMIN_URL", os.environ["TEST_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    )


@pytest.mark.parametrize("sentinel", [False, True], ids=["plain-redis", "sentinel-failover"])
def test_losing_a_host_loses_nothing(sentinel):
    """Everything drains, nothing lost or doubled, and the shared budget holds (no 429 without a failover)."""
    from chaos import two_hosts

    lines: list[str] = []
    result = two_hosts.run(sentinel=sentinel, log=lines.append)
    print(f"\ntwo hosts ({'Sentinel' if sentinel else 'plain Redis'}): {result.faults}; accepted by host "
          f"{result.accepted_by_host}; 429s {result.responses_429}; drain {result.drain_seconds} s; "
          f"run {result.wall_seconds} s")  # fmt: skip
    assert result.passed, f"{result.failures}\nmetrics: {result.metrics}\nlogs: {result.logs}\n" + "\n".join(lines)
