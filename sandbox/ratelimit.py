"""The POST rate limit: a sliding-window log per API key."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Admission:
    """The limiter's answer to one POST."""

    allowed: bool
    remaining: int
    retry_after: float  # seconds until a slot frees up; 0 when allowed


class SlidingWindowLimiter:
    """At most `limit` POSTs per key in any `window` seconds; callers hold the state lock.

    A sliding log rather than fixed minute buckets: a fixed window lets 2 x limit through
    around a boundary, and "20 per minute" is most safely read as "in any 60 seconds".
    Rejected POSTs do not use up a slot.
    """

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: int, window: float, now: float) -> Admission:
        """Record a POST by `key` at monotonic time `now` if the window has room."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            retry_after = hits[0] + window - now if hits else window
            return Admission(False, 0, max(retry_after, 0.0))
        hits.append(now)
        return Admission(True, limit - len(hits), 0.0)

    def clear(self) -> None:
        """Forget every recorded POST."""
        self._hits.clear()
