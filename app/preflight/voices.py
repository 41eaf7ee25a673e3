"""The voice check: JoggAI's voice lists, cached in Redis for every process, and whether a voice_id is on them."""

from __future__ import annotations

import enum
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis

from app.config import Settings
from app.jogg import JoggClient, JoggError

log = logging.getLogger(__name__)

CACHE_KEY = "motion-gateway:preflight:voices"
VOICE_CACHE_SECONDS = 3600
# A voice missing from a list older than this is looked up once more: it may have been cloned since.
RECHECK_UNKNOWN_AFTER = 60.0
# After a Redis failure the shared cache is left alone this long, so a Redis outage costs one timeout, not one a check.
REDIS_PAUSE_SECONDS = 30.0


class VoiceCheck(enum.Enum):
    """What the lists say of a voice_id: on them, not on them, or no lists to ask (the check is skipped)."""

    KNOWN = "known"
    UNKNOWN = "unknown"
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class VoiceList:
    """Every voice id JoggAI listed (library and custom) and when they were read (epoch seconds)."""

    voice_ids: frozenset[str]
    fetched_at: float

    def to_json(self) -> str:
        """The cached form."""
        return json.dumps({"voice_ids": sorted(self.voice_ids), "fetched_at": self.fetched_at})

    @classmethod
    def from_json(cls, text: bytes | str) -> VoiceList | None:
        """Read the cached form; None when it is not what to_json wrote."""
        try:
            data = json.loads(text)
            ids, at = data["voice_ids"], float(data["fetched_at"])
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return None
        return cls(frozenset(ids), at)


class VoiceCatalog:
    """Answers check(voice_id) from a list cached in Redis under one key for `ttl` seconds.

    Redis down: a copy kept in this process serves, else JoggAI is read directly. JoggAI's lists
    unreadable: the check is skipped (UNVERIFIABLE), with a warning in the log.
    """

    def __init__(
        self,
        client: JoggClient,
        connection: redis.Redis | None,
        ttl: float = VOICE_CACHE_SECONDS,
        key: str = CACHE_KEY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Read voices through client, kept under key in Redis (None: none) for ttl seconds by clock."""
        self.client, self.connection, self.ttl, self.key, self.clock = client, connection, ttl, key, clock
        self.counts: Counter[str] = Counter()  # cache_hits, local_hits, fetches, redis_errors, unreadable
        self._local: VoiceList | None = None
        self._redis_paused_until = 0.0  # time.monotonic()

    def check(self, voice_id: str) -> VoiceCheck:
        """KNOWN, UNKNOWN, or UNVERIFIABLE when no list could be read."""
        return self.check_many([voice_id])[voice_id]

    def check_many(self, voice_ids: Iterable[str]) -> dict[str, VoiceCheck]:
        """check() for several voice ids at once: one read of the lists, at most one more for voices not on them."""
        wanted = set(voice_ids)
        voices = self.cached() or self.refresh() if wanted else None
        if voices is None:
            return dict.fromkeys(wanted, VoiceCheck.UNVERIFIABLE)
        if not wanted <= voices.voice_ids and self.clock() - voices.fetched_at >= RECHECK_UNKNOWN_AFTER:
            voices = self.refresh() or voices
        return {voice: VoiceCheck.KNOWN if voice in voices.voice_ids else VoiceCheck.UNKNOWN for voice in wanted}

    def warm(self) -> bool:
        """Make sure the lists are cached (read from JoggAI if no process has them yet); whether they could be read."""
        return (self.cached() or self.refresh()) is not None

    def cached(self) -> VoiceList | None:
        """The shared list while fresh; this process's copy when Redis cannot be asked."""
        if self._redis_usable():
            try:
                raw = self.connection.get(self.key)
            except redis.RedisError as exc:
                self._redis_failed("read", exc)
            else:
                voices = VoiceList.from_json(raw) if raw is not None else None
                if voices is not None and self.fresh(voices):
                    self.counts["cache_hits"] += 1
                    return voices
                return None
        if self._local is not None and self.fresh(self._local):
            self.counts["local_hits"] += 1
            return self._local
        return None

    def refresh(self) -> VoiceList | None:
        """Read both lists from JoggAI and cache them; None (logged) when they cannot be read."""
        self.counts["fetches"] += 1
        try:
            library = self.client.voices()
            ids = {voice.voice_id for voice in library} | {voice.voice_id for voice in self.client.custom_voices()}
        except JoggError as exc:
            self.counts["unreadable"] += 1
            log.warning("voice lists unreadable, voice check skipped: %s", exc)
            return None
        if not library:  # JoggAI always has a library: an empty one is a broken answer, not evidence
            self.counts["unreadable"] += 1
            log.warning("voice library came back empty, voice check skipped")
            return None
        voices = VoiceList(frozenset(ids), self.clock())
        self.store(voices)
        return voices

    def store(self, voices: VoiceList) -> None:
        """Keep the list here and, for every process, in Redis with the TTL."""
        self._local = voices
        if not self._redis_usable():
            return
        try:
            self.connection.set(self.key, voices.to_json(), ex=max(1, round(self.ttl)))
        except redis.RedisError as exc:
            self._redis_failed("write", exc)

    def fresh(self, voices: VoiceList) -> bool:
        """Younger than the TTL (Redis expires the key too; this guards a clock or TTL change)."""
        return 0 <= self.clock() - voices.fetched_at < self.ttl

    def _redis_usable(self) -> bool:
        """A connection was given and has not failed in the last REDIS_PAUSE_SECONDS."""
        return self.connection is not None and time.monotonic() >= self._redis_paused_until

    def _redis_failed(self, action: str, exc: redis.RedisError) -> None:
        """Count and log a Redis failure, and leave Redis alone for a while; the check goes on without it."""
        self.counts["redis_errors"] += 1
        self._redis_paused_until = time.monotonic() + REDIS_PAUSE_SECONDS
        log.warning("voice cache: Redis %s failed (%s); using this process's copy or JoggAI", action, exc)


def catalog_for(settings: Settings, connection: redis.Redis | None) -> VoiceCatalog:
    """A catalog reading JoggAI as the settings say, cached VOICE_CACHE_SECONDS in `connection`."""
    client = JoggClient(
        settings.jogg_base_url, settings.jogg_api_key, settings.jogg_connect_timeout, settings.jogg_read_timeout
    )
    return VoiceCatalog(client, connection, ttl=settings.voice_cache_seconds)


def unknown_voice_message(voice_id: str) -> str:
    """What a caller reads when its voice is on neither list."""
    return f"voice_id {voice_id[:100]!r} is not one of JoggAI's voices (its library or this account's custom voices)"
