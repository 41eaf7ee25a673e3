"""Leases in Redis for pre-flight: one checking job at a time, and no motion checked by two jobs at once.

A lease is a key with an expiry: a worker killed mid-check leaves nothing behind but keys that run out, after
which the next job takes the work again. Losing them (Redis flushed) costs at most a second download: the
verdict is recorded only on a motion still waiting for one (app.domain.preflight.apply).
"""

import uuid
from collections.abc import Iterable

import redis

LEASE_SECONDS = 15.0  # longer than one check: the image's 10 s plus a read of the voice lists
RUNNER_KEY = "motion-gateway:preflight:runner"
CLAIM_PREFIX = "motion-gateway:preflight:claim:"


def take_runner(connection: redis.Redis, seconds: float = LEASE_SECONDS) -> str | None:
    """The runner's lease (a token) if no other pre-flight job holds it, else None."""
    token = uuid.uuid4().hex
    return token if connection.set(RUNNER_KEY, token, nx=True, px=int(seconds * 1000)) else None


def extend_runner(connection: redis.Redis, token: str, seconds: float = LEASE_SECONDS) -> None:
    """Keep the runner's lease while its job is still working (only if it is still ours)."""
    if connection.get(RUNNER_KEY) == token.encode():
        connection.pexpire(RUNNER_KEY, int(seconds * 1000))


def give_back_runner(connection: redis.Redis, token: str) -> None:
    """Free the runner's lease, if it is still ours, so the next nudge runs at once."""
    if connection.get(RUNNER_KEY) == token.encode():
        connection.delete(RUNNER_KEY)


def claim(connection: redis.Redis, motion_ids: Iterable[str], limit: int, seconds: float = LEASE_SECONDS) -> list[str]:
    """Up to `limit` of these motions, each leased to this job (a motion another job holds is passed over).

    The leases are asked for `limit` at a time in one round trip, so a batch usually costs one.
    """
    claimed: list[str] = []
    waiting = list(motion_ids)
    while waiting and len(claimed) < limit:
        tried, waiting = waiting[: limit - len(claimed)], waiting[limit - len(claimed) :]
        with connection.pipeline(transaction=False) as pipe:
            for motion_id in tried:
                pipe.set(CLAIM_PREFIX + motion_id, 1, nx=True, px=int(seconds * 1000))
            taken = pipe.execute()
        claimed += [motion_id for motion_id, took in zip(tried, taken, strict=True) if took]
    return claimed


def release(connection: redis.Redis, motion_ids: Iterable[str]) -> None:
    """These motions' verdicts are recorded: their leases are no longer needed (one round trip)."""
    keys = [CLAIM_PREFIX + motion_id for motion_id in motion_ids]
    if keys:
        connection.delete(*keys)
