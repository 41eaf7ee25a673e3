"""JoggAI's POST budget: one moving-window limiter in Redis shared by every process (the `limits` library)."""

import hashlib

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

NAMESPACE = "jogg-post"


class PostBudget:
    """At most N POSTs to JoggAI per window per API key, counted across all processes."""

    def __init__(self, redis_url: str, rate: str, api_key: str):
        self.rate: RateLimitItem = parse(rate)
        self._limiter = MovingWindowRateLimiter(storage_from_string(redis_url))
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
        """Take one POST slot now if the window has room."""
        return self._limiter.hit(self.rate, NAMESPACE, self._account)

    def free_slots(self) -> int:
        """How many POSTs the window would allow right now (takes none)."""
        return self._limiter.get_window_stats(self.rate, NAMESPACE, self._account).remaining

    def next_slot_at(self) -> float:
        """Unix time at which the oldest POST in the window leaves it."""
        return self._limiter.get_window_stats(self.rate, NAMESPACE, self._account).reset_time

    def reset(self) -> None:
        """Forget every recorded POST (tests and operators only)."""
        self._limiter.clear(self.rate, NAMESPACE, self._account)
