"""The test session touches only its own Redis database: a run that wipes another one fails."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INNER_TEST = '''
import redis


def test_empties_redis(redis_url):
    """Empties the run's Redis the way the parametrized outer test asks."""
    getattr(redis.Redis.from_url(redis_url), "{command}")()
'''


@pytest.mark.parametrize(("command", "exit_status"), [("flushdb", 0), ("flushall", 1)])
def test_a_session_that_wipes_another_redis_database_fails(tmp_path, command, exit_status):
    """A run (on its own embedded Redis) that calls FLUSHDB passes; one that calls FLUSHALL fails at its end."""
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER_TEST.format(command=command))
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_REDIS_URL", "TEST_DATABASE_URL")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", str(inner)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == exit_status, run.stdout + run.stderr
    assert ("not its own" in run.stdout) is (command == "flushall")
