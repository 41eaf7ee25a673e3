"""The short version of each chaos scenario (`python -m chaos --short`), one test per scenario.

Each starts a private stack (its own redis-server, a throwaway PostgreSQL database behind a TCP
proxy, the sandbox, gunicorn, 3 workers, the clock) and needs PostgreSQL, so these tests run in the
PostgreSQL mode of the suite (`TEST_DATABASE_URL` set) and only when asked for with `CHAOS_TESTS=1`,
which `.ci/run` sets for its PostgreSQL run. About 25-35 s each on 2 cores (more on a loaded
machine; a scenario that does not drain stops after 240 s). The checks are the full ones; only sizes shrink.
"""

import os

import psycopg
import pytest

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.skipif(
        not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("CHAOS_TESTS") == "1"),
        reason="chaos runs are opt-in (CHAOS_TESTS=1) and need PostgreSQL (TEST_DATABASE_URL)",
    ),
]

if os.environ.get("TEST_DATABASE_URL"):
    url = os.environ["TEST_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    os.environ.setdefault("CHAOS_PG_ADMIN_URL", url)


@pytest.fixture(scope="module")
def postgres_reachable():
    try:
        psycopg.connect(os.environ["CHAOS_PG_ADMIN_URL"], connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL does not answer: {exc}")


@pytest.mark.parametrize("key", ["a", "b", "c", "d", "e"])
def test_short_scenario(key, postgres_reachable):
    from chaos import scenarios

    lines: list[str] = []
    result = scenarios.run(key, scenarios.Plan.short(), log=lines.append)
    assert result.passed, (
        f"scenario {key} ({result.title}) failed: {result.error or result.verdict.failures}\n"
        f"faults: {result.faults}\nmetrics: {result.verdict.metrics if result.verdict else None}\n" + "\n".join(lines)
    )
