"""JoggAI's POST budget: one moving window in Redis shared by every process, each slot dated by JoggAI's answer.

JoggAI counts a POST when it arrives; we cannot see that instant, but we can bound it. A slot is taken just
before sending and dated pessimistically (now + the longest a POST may take); once the answer is in (or the
client gave up), it is dated again by Redis' clock at that moment, after the POST's arrival. A slot frees one
window after its date, so two POSTs that share a slot arrive at least a window apart, whatever the network
did: no fixed guard. Every time is Redis' own (TIME inside the scripts), so clocks of several hosts never mix.
"""

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass

import redis
from limits import RateLimitItem, parse

from app.redis_connection import connect

log = logging.getLogger(__name__)

KEY_PREFIX = "LIMITS:jogg-post-slots"  # a sorted set: member = one POST's slot, score = the time it counts from
# A slot taken is dated this far ahead of its POST's longest life (JoggAI's connect and read timeouts), for
# recording the attempt before sending: the date it keeps if its process dies before the answer settles it.
SEND_ALLOWANCE = 5.0
LAG_SAMPLES = 50  # the latest submit jobs' lags kept (a Redis list beside the window)
LAGS_READ_EVERY = 1.0  # seconds a process reuses the lags it read

# KEYS[1] the window, KEYS[2] the lags; ARGV: window seconds, size, hold seconds, slot id, optional now (tests),
# optional lag (kept among the latest LAG_SAMPLES, ARGV[7]).
ACQUIRE = """
local now = tonumber(ARGV[5])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1e6 end
if ARGV[6] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[6])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[7]) - 1)
  redis.call('EXPIRE', KEYS[2], 86400)
end
local window, size, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < size then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil((hold + window) * 1000))
  return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""
# KEYS[1] the window; ARGV: slot id, optional now. Dates the slot now, if that is earlier than its date.
SETTLE = """
local now = tonumber(ARGV[2])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1e6 end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and now < tonumber(score) then redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1]) end
return 1
"""
# KEYS[1] the window; ARGV: window seconds, size, horizon seconds, optional now.
# Returns {slots free now, slots free within the horizon, seconds until one is free}.
STATE = """
local now = tonumber(ARGV[4])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1e6 end
local window, size, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local used = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf')
local freeing = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), now - window + horizon)
local wait = 0
if used >= size then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  wait = tonumber(oldest[2]) + window - now
end
return {math.max(0, size - used), math.max(0, size - used) + freeing, tostring(wait)}
"""

# KEYS[1] the window; ARGV: window seconds, horizon seconds, optional now.
# Returns the seconds until the first slot not free within the horizon comes within it, or -1 if none is taken.
NEXT = """
local now = tonumber(ARGV[3])
if not now then local t = redis.call('TIME'); now = t[1] + t[2] / 1e6 end
local window, horizon = tonumber(ARGV[1]), tonumber(ARGV[2])
local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window + horizon), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #later == 0 then return '-1' end
return tostring(tonumber(later[2]) + window - horizon - now)
"""


@dataclass(frozen=True)
class Slot:
    """One POST's place in the window, to be settled once JoggAI answered."""

    id: str


class PostBudget:
    """At most N POSTs to JoggAI per window per API key, counted across all processes."""

    def __init__(self, redis_url: str, rate: str, api_key: str, post_timeout: float = 13.05):
        """A window in Redis for the rate, keyed by a fingerprint of the API key (the key never goes to Redis)."""
        self.rate: RateLimitItem = parse(rate)
        self.hold = post_timeout + SEND_ALLOWANCE
        self.clock = None  # tests set a function returning the time the scripts use; None: Redis' clock
        self._redis = connect(redis_url)
        account = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self._key = f"{KEY_PREFIX}:{account}:{self.size}/{self.window_seconds}"
        self._lags_key = f"{self._key}:lags"
        self._lags: tuple[float, list[float]] = (float("-inf"), [])  # (read at, monotonic; the lags read)
        scripts = (self._redis.register_script(script) for script in (ACQUIRE, SETTLE, STATE, NEXT))
        self._acquire, self._settle, self._state, self._next = scripts

    @property
    def size(self) -> int:
        """POSTs allowed per window."""
        return self.rate.amount

    @property
    def window_seconds(self) -> int:
        """Length of the window."""
        return self.rate.get_expiry()

    def acquire(self, wait: float = 0.0, lag: float | None = None) -> Slot | None:
        """Take a slot as soon as one frees, waiting at most `wait` seconds; None if none frees in time.

        `lag`: how long the asking job took from its dispatch to this request, kept with the first try (`recent_lags`).
        The caller sends its POST, then settles the slot (or releases it if nothing was sent).
        """
        deadline = time.monotonic() + wait
        slot = Slot(secrets.token_hex(8))
        noted = "" if lag is None else str(round(lag, 4))
        while True:
            args = [self.window_seconds, self.size, self.hold, slot.id, self._now(), noted, LAG_SAMPLES]
            taken, retry_in = self._acquire(keys=[self._key, self._lags_key], args=args)
            noted = ""
            if taken:
                return slot
            retry_in = float(retry_in)
            if time.monotonic() + retry_in > deadline:
                return None
            time.sleep(retry_in + 0.0005)  # just past the instant the oldest POST leaves the window

    def try_acquire(self) -> bool:
        """Take a slot now if one is free; it stays dated ahead by the hold, as nothing settles it."""
        return self.acquire() is not None

    def settle(self, slot: Slot) -> None:
        """Date the slot now, after JoggAI's answer (or the client's giving up): its POST arrived before this.

        Never raises: with Redis unreachable the slot keeps its date ahead (safe, only slower to free), and the
        POST's answer, which the caller still has to store, matters more.
        """
        try:
            self._settle(keys=[self._key], args=[slot.id, self._now()])
        except redis.RedisError as exc:
            log.warning("POST slot not settled, it frees after the hold: %s", exc.__class__.__name__)

    def release(self, slot: Slot) -> None:
        """Give the slot back: nothing was sent with it.

        Never raises, like `settle`: with Redis unreachable the slot keeps its date ahead (safe, only slower to
        free), and the error being handled, or the outcome to record, matters more.
        """
        try:
            self._redis.zrem(self._key, slot.id)
        except redis.RedisError as exc:
            log.warning("POST slot not released, it frees after the hold: %s", exc.__class__.__name__)

    def state(self, horizon: float = 0.0) -> tuple[int, int, float]:
        """(slots free now, slots free now or within `horizon` seconds, seconds until one is free)."""
        free, soon, wait = self._state(keys=[self._key], args=[self.window_seconds, self.size, horizon, self._now()])
        return int(free), int(soon), float(wait)

    def next_within(self, horizon: float) -> float | None:
        """Seconds until one more slot frees within `horizon` seconds (0.0 if one does now); None if none is taken."""
        found = float(self._next(keys=[self._key], args=[self.window_seconds, horizon, self._now()]))
        return None if found < 0 else max(0.0, found)

    def free_slots(self) -> int:
        """How many POSTs the window allows now."""
        return self.state()[0]

    def next_free_in(self) -> float:
        """Seconds until free_slots() is above zero (0.0 if it is now)."""
        return self.state()[2]

    def recent_lags(self) -> list[float]:
        """The latest submit jobs' lags from dispatch to slot request, seconds (read at most every LAGS_READ_EVERY)."""
        read_at, lags = self._lags
        if time.monotonic() - read_at >= LAGS_READ_EVERY:
            lags = [lag for lag in map(_seconds, self._redis.lrange(self._lags_key, 0, -1)) if lag is not None]
            self._lags = (time.monotonic(), lags)
        return lags

    def reset(self) -> None:
        """Forget every recorded POST and lag (tests and operators only)."""
        self._redis.delete(self._key, self._lags_key)
        self._lags = (float("-inf"), [])

    def _now(self) -> float | str:
        """The time given to the scripts: the test clock's, or empty for Redis' own."""
        return self.clock() if self.clock else ""


def _seconds(value: bytes | str) -> float | None:
    """A lag as kept in Redis, or None for anything that is not a finite, non-negative number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
