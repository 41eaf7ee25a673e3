"""The voice check against the sandbox, with its cache in a real Redis (and without one)."""

import logging
import uuid

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.jogg import JoggClient
from app.preflight import VoiceCatalog, VoiceCheck, catalog_for, unknown_voice_message
from app.preflight.voices import RECHECK_UNKNOWN_AFTER, VoiceList
from sandbox import SandboxConfig, serve_in_thread

API_KEY = "voice-test-key"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jogg():
    """A sandbox with two custom voices, and a client for it."""
    run = serve_in_thread(SandboxConfig().with_changes({"api_key": API_KEY, "voices": ["clone-a", "clone-b"]}))
    yield run, JoggClient(run.base_url, API_KEY, connect_timeout=1.0, read_timeout=5.0)
    run.stop()


@pytest.fixture
def cache(redis_url):
    """A Redis connection to this run's embedded server and a key of this test's own (deleted after)."""
    connection = redis.Redis.from_url(redis_url)
    key = f"motion-gateway:test:voices:{uuid.uuid4().hex}"
    yield connection, key
    connection.delete(key)
    connection.close()


@pytest.fixture
def dead_redis(closed_port):
    """A Redis client pointing at a port nothing listens on (one retry, no backoff, to keep the test short)."""
    return redis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 1))


def list_calls(run) -> int:
    """How many voice-list pages the sandbox has served."""
    return run.state.stats.snapshot()["voice_lists"]


def test_library_and_custom_voices_are_known(jogg, cache):
    """A library voice and a custom one are known; anything else unknown."""
    run, client = jogg
    catalog = VoiceCatalog(client, cache[0], key=cache[1])
    assert catalog.check("en-US-JennyNeural") is VoiceCheck.KNOWN
    assert catalog.check("clone-b") is VoiceCheck.KNOWN
    assert catalog.check("en-US-NobodyNeural") is VoiceCheck.UNKNOWN


def test_the_lists_are_read_once_and_then_served_from_redis(jogg, cache):
    """First check reads both lists (two pages); the next ones are cache hits, no new JoggAI calls."""
    run, client = jogg
    catalog = VoiceCatalog(client, cache[0], key=cache[1])
    for voice in ("en-US-JennyNeural", "clone-a", "en-US-GuyNeural", "clone-b"):
        assert catalog.check(voice) is VoiceCheck.KNOWN
    assert list_calls(run) == 2
    assert catalog.counts["fetches"] == 1 and catalog.counts["cache_hits"] == 3


def test_the_cache_is_shared_by_every_process(jogg, cache, redis_url):
    """A second catalog with its own client and connection (another worker) finds the list in Redis."""
    run, client = jogg
    VoiceCatalog(client, cache[0], key=cache[1]).check("clone-a")
    other = VoiceCatalog(JoggClient(run.base_url, API_KEY), redis.Redis.from_url(redis_url), key=cache[1])
    assert other.check("en-US-JennyNeural") is VoiceCheck.KNOWN
    assert other.counts["cache_hits"] == 1 and other.counts["fetches"] == 0
    assert list_calls(run) == 2


def test_the_key_holds_json_and_expires_with_the_ttl(jogg, cache):
    """One key, JSON, with VOICE_CACHE_SECONDS as its TTL."""
    _, client = jogg
    VoiceCatalog(client, cache[0], ttl=120, key=cache[1]).check("clone-a")
    stored = VoiceList.from_json(cache[0].get(cache[1]))
    assert stored is not None and {"clone-a", "clone-b", "en-US-JennyNeural"} <= stored.voice_ids
    assert 0 < cache[0].ttl(cache[1]) <= 120


def test_an_expired_list_is_read_again(jogg, cache):
    """Past the TTL the lists are fetched anew."""
    run, client = jogg
    clock = Clock()
    catalog = VoiceCatalog(client, cache[0], ttl=3600, key=cache[1], clock=clock)
    catalog.check("clone-a")
    clock.now += 3601
    catalog.check("clone-a")
    assert catalog.counts["fetches"] == 2 and list_calls(run) == 4


def test_a_voice_cloned_after_caching_is_found_on_a_second_look(jogg, cache):
    """Unknown in a list older than a minute: the lists are read once more before saying unknown."""
    run, client = jogg
    clock = Clock()
    catalog = VoiceCatalog(client, cache[0], key=cache[1], clock=clock)
    catalog.check("clone-a")
    run.state.update_config({"voices": ["clone-a", "clone-b", "clone-new"]})
    assert catalog.check("clone-new") is VoiceCheck.UNKNOWN  # the list is seconds old: trusted
    clock.now += RECHECK_UNKNOWN_AFTER + 1
    assert catalog.check("clone-new") is VoiceCheck.KNOWN
    assert catalog.counts["fetches"] == 2


def test_redis_down_is_tolerated(jogg, dead_redis, caplog):
    """No Redis: JoggAI is read, the list kept in the process, and the checks still answer."""
    run, client = jogg
    catalog = VoiceCatalog(client, dead_redis)
    with caplog.at_level(logging.WARNING, logger="app.preflight.voices"):
        assert catalog.check("clone-a") is VoiceCheck.KNOWN
        assert catalog.check("nope") is VoiceCheck.UNKNOWN
    assert catalog.counts["fetches"] == 1 and catalog.counts["local_hits"] == 1
    assert catalog.counts["redis_errors"] == 1 and list_calls(run) == 2  # then Redis is left alone a while
    assert "Redis" in caplog.text


def test_unreadable_lists_skip_the_check(jogg, cache, caplog):
    """A wrong key (or JoggAI down): unverifiable, logged, nothing cached."""
    run, _ = jogg
    catalog = VoiceCatalog(JoggClient(run.base_url, "wrong-key"), cache[0], key=cache[1])
    with caplog.at_level(logging.WARNING, logger="app.preflight.voices"):
        assert catalog.check("clone-a") is VoiceCheck.UNVERIFIABLE
    assert "voice check skipped" in caplog.text and "wrong-key" not in caplog.text
    assert catalog.counts["unreadable"] == 1 and cache[0].get(cache[1]) is None


def test_jogg_unreachable_skips_the_check(closed_port, cache):
    """Nothing listens where JoggAI should be: unverifiable."""
    client = JoggClient(f"http://127.0.0.1:{closed_port}", API_KEY, connect_timeout=0.5, read_timeout=0.5)
    assert VoiceCatalog(client, cache[0], key=cache[1]).check("clone-a") is VoiceCheck.UNVERIFIABLE


@pytest.mark.parametrize("junk", [b"not json", b'{"voice_ids": "x", "fetched_at": 1}', b"[]", b'{"fetched_at": 1}'])
def test_a_corrupt_cache_entry_is_replaced(jogg, cache, junk):
    """Whatever sits under the key that is not our JSON counts as a miss."""
    _, client = jogg
    cache[0].set(cache[1], junk)
    catalog = VoiceCatalog(client, cache[0], key=cache[1])
    assert catalog.check("clone-a") is VoiceCheck.KNOWN and catalog.counts["fetches"] == 1
    assert VoiceList.from_json(cache[0].get(cache[1])) is not None


def test_a_catalog_from_the_settings(jogg, cache, settings):
    """catalog_for reads JoggAI where the settings point, with their TTL."""
    run, _ = jogg
    configured = settings.with_overrides(jogg_base_url=run.base_url, jogg_api_key=API_KEY, voice_cache_seconds=77)
    catalog = catalog_for(configured, cache[0])
    catalog.key = cache[1]
    assert catalog.ttl == 77 and catalog.check("clone-b") is VoiceCheck.KNOWN
    assert unknown_voice_message("x" * 300).startswith("voice_id 'xxx") and len(unknown_voice_message("x" * 300)) < 200


def test_a_batch_of_voices_costs_one_read_of_the_lists(jogg, cache):
    """check_many: one Redis read for the whole batch, one more look at JoggAI only for voices not on an old list."""
    run, client = jogg
    clock = Clock()
    catalog = VoiceCatalog(client, cache[0], key=cache[1], clock=clock)
    assert catalog.warm() and catalog.counts["fetches"] == 1
    found = catalog.check_many(["clone-a", "en-US-JennyNeural", "nope", "clone-a"])
    assert found == {"clone-a": VoiceCheck.KNOWN, "en-US-JennyNeural": VoiceCheck.KNOWN, "nope": VoiceCheck.UNKNOWN}
    assert catalog.counts["cache_hits"] == 1 and catalog.counts["fetches"] == 1  # a fresh list is trusted
    clock.now += RECHECK_UNKNOWN_AFTER + 1
    assert catalog.check_many(["clone-a", "nope", "nope-2"])["nope"] is VoiceCheck.UNKNOWN
    assert catalog.counts["fetches"] == 2  # one second look for both unknown voices
    assert catalog.check_many([]) == {} and catalog.counts["cache_hits"] == 2


def test_unreadable_lists_leave_a_batch_unverifiable(jogg, cache):
    """A bad key: every voice of the batch is unverifiable (skipped), and warm() says the lists were not read."""
    run, _ = jogg
    catalog = VoiceCatalog(JoggClient(run.base_url, "wrong-key"), cache[0], key=cache[1])
    assert not catalog.warm()
    assert catalog.check_many(["a", "b"]) == {"a": VoiceCheck.UNVERIFIABLE, "b": VoiceCheck.UNVERIFIABLE}
