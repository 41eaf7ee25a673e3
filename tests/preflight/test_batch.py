"""Checking a batch: leases asked for in one round trip, images in groups as they finish, one download per address."""

import threading

import redis

from app.preflight import batch, claims
from app.preflight.image import ImageVerdict

PASSED = ImageVerdict(None, "image is a PNG of 600x800 pixels", 600, 800, "PNG")


def test_claims_take_at_most_the_limit_and_pass_over_held_motions(redis_url):
    """Held motions are passed over, never more than the limit are leased, and release frees them all at once."""
    connection = redis.Redis.from_url(redis_url)
    ids = [f"claims-test-{i}" for i in range(10)]
    try:
        assert claims.claim(connection, ids[:2], limit=2) == ids[:2]
        assert claims.claim(connection, ids, limit=5) == ids[2:7]  # the first two are held by the first job
        assert all(connection.exists(claims.CLAIM_PREFIX + m) for m in ids[:7])
        assert not any(connection.exists(claims.CLAIM_PREFIX + m) for m in ids[7:])
        claims.release(connection, ids[:7])
        claims.release(connection, [])
        assert claims.claim(connection, ids, limit=3) == ids[:3]
    finally:
        connection.delete(*(claims.CLAIM_PREFIX + m for m in ids))
        connection.close()


def test_images_come_in_groups_as_they_finish_and_a_slow_one_waits_alone():
    """Two fast images are handed over (in one group or two) while the slow one is still downloading."""
    release = threading.Event()

    def fetch(url, _allowed):
        if "slow" in url:
            assert release.wait(10)
        return PASSED

    groups = batch.image_groups({"a": "http://x/a.png", "b": "http://x/b.png", "s": "http://x/slow.png"}, (), fetch)
    seen: list[list[str]] = []
    for group in groups:
        seen.append(sorted(motion_id for motion_id, _ in group))
        if set().union(*seen) == {"a", "b"}:
            release.set()  # only now may the slow host answer
    assert set().union(*seen) == {"a", "b", "s"} and seen[-1] == ["s"]


def test_one_download_for_an_address_several_motions_name():
    """Three motions with one image address: fetched once, its verdict given to each."""
    calls: list[str] = []

    def fetch(url, _allowed):
        calls.append(url)
        return PASSED

    groups = batch.image_groups(dict.fromkeys("abc", "http://x/one.png"), (), fetch)
    found = [pair for group in groups for pair in group]
    assert calls == ["http://x/one.png"] and sorted(m for m, _ in found) == ["a", "b", "c"]
