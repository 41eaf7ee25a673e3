"""JoggAI's POST budget: one moving-window limiter in Redis shared by every process (the `limits` library)."""

import hashlib
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.redis_connection import limits_storage

NAMESPACE = "jogg-post"
GUARD_SHARE, GUARD_MAX = 0.025, 1.0  # a freed slot is handed out again after 2.5 % of the window, at most 1 s


class PostBudget:
    """At most N POSTs to JoggAI per window per API key, counted across all processes."""

    def __init__(self, redis_url: str, rate: str, api_key: str):
        """A moving-window limiter in Redis for the rate, keyed by the API key."""
        self.rate: RateLimitItem = parse(rate)
        storage_url, options = limits_storage(redis_url)  # a Sentinel URL in the form `limits` reads
        self._storage = storage_from_string(storage_url, **options)
        self._limiter = MovingWindowRateLimiter(self._storage)
        # The key itself never goes to Redis: only a short fingerprint of it.
        self._account = hashlib.sha256(api_key.encode()).hexdigest()[:16]

    @property
    def size(self) -> int:
        """POSTs allowed per window."""
        return self.rate.amount

    @property
    def window_seconds(self) -> int:
        """Length of the window."""
        return self.rate.get_expiry()

    def try_acquire(self) -> bool:
        """Take one POST slot now if the window has room, counting a freed slot only after the guard (see free_slots).

        The guard is checked here too, not only by the dispatcher: a submit job that waited for its worker would
        otherwise take a slot the instant it frees, and its POST could reach JoggAI inside the window of one that
        arrived late. The hit itself stays atomic, so the window never holds more than its size.
        """
        return self.free_slots() > 0 and self._limiter.hit(self.rate, NAMESPACE, self._account)

    @property
    def guard_seconds(self) -> float:
        """How long a slot stays unused after it frees: room for JoggAI seeing our POSTs a little late."""
        return min(GUARD_MAX, self.window_seconds * GUARD_SHARE)

    def free_slots(self) -> int:
        """How many POSTs the window allows now, counting a slot free only once it has been free for the guard.

        JoggAI counts a POST when it arrives; we count it just before sending. A POST that arrived late
        (a busy network or server) would make the POST that reuses its slot exactly one window later
        arrive too early; the guard keeps the dispatcher from handing such a slot out at once.
        """
        return self.slots()[0]

    def next_free_in(self) -> float:
        """Seconds until free_slots() is above zero (0.0 if it is now)."""
        return self.slots()[1]

    def slots(self) -> tuple[int, float]:
        """(free slots now, seconds until one is free), from one read of the window plus the guard."""
        key = self.rate.key_for(NAMESPACE, self._account)
        oldest, count = self._storage.get_moving_window(key, self.size, self.window_seconds + self.guard_seconds)
        if count < self.size:
            return self.size - count, 0.0
        return 0, max(0.0, oldest + self.window_seconds + self.guard_seconds - time.time())

    def next_slot_at(self) -> float:
        """Unix time at which the oldest POST in the window leaves it."""
        return self._limiter.get_window_stats(self.rate, NAMESPACE, self._account).reset_time

    def reset(self) -> None:
        """Forget every recorded POST (tests and operators only)."""
        self._limiter.clear(self.rate, NAMESPACE, self._account)
