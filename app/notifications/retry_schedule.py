"""When to attempt a callback delivery next: schedule, jitter, Retry-After and throttling floors."""

import enum
import math
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
RETRY_AFTER_MAX_FACTOR = 2.0
THROTTLED_FLOOR_SECONDS = 60.0

# Module-level so callers that pass no rng still share one well-seeded generator.
_RNG = random.Random()
_DELTA_SECONDS = re.compile(r"[+-]?\d+(\.\d+)?")


class Outcome(enum.StrEnum):
    """What one delivery attempt came to, as far as retrying is concerned."""

    SUCCESS = "success"
    GONE = "gone"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    ERROR = "error"


def classify(status_code: int | None, timed_out: bool) -> Outcome:
    """Map an attempt's HTTP status (None if no response arrived) to an Outcome."""
    # A timeout wins: even a status line read before it gives no proof the body was taken.
    if timed_out:
        return Outcome.TIMEOUT
    if status_code is None:
        return Outcome.ERROR
    if 200 <= status_code < 300:
        return Outcome.SUCCESS
    if status_code == 410:
        return Outcome.GONE
    if status_code == 429:
        return Outcome.RATE_LIMITED
    return Outcome.ERROR  # redirects included: they are never followed


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return a Retry-After header as seconds from now (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    return _seconds_until_http_date(text, now)


def _seconds_until_http_date(text: str, now: datetime) -> float | None:
    """Return the seconds from now until an HTTP-date, at least 0; None if it is not a date."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, (_as_utc(when) - _as_utc(now)).total_seconds())


def _as_utc(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC so naive and aware values can be compared."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def next_delay(
    schedule: Sequence[int],
    attempts_made: int,
    outcome: Outcome,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Return seconds to wait before attempt attempts_made + 1, or None when no attempt should follow."""
    if attempts_made < 0:
        raise ValueError("attempts_made cannot be negative")
    if outcome in (Outcome.SUCCESS, Outcome.GONE) or attempts_made >= len(schedule):
        return None
    delay = jittered(schedule[attempts_made], rng or _RNG)
    if retry_after is not None:
        # Honour the receiver, but neither sooner than planned nor later than twice the plan.
        delay = min(max(retry_after, delay), RETRY_AFTER_MAX_FACTOR * delay)
    if outcome in (Outcome.RATE_LIMITED, Outcome.TIMEOUT):
        delay = max(THROTTLED_FLOOR_SECONDS, delay)
    return delay


def jittered(seconds: float, rng: random.Random) -> float:
    """Return seconds scaled by a random factor in [1 - JITTER, 1 + JITTER], to spread retry bursts."""
    return seconds * rng.uniform(1.0 - JITTER, 1.0 + JITTER)
