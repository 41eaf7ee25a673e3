"""Callback retry timing: jittered schedule, Retry-After clamping, throttling floors and classification."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.notifications.retry_schedule import (
    DEFAULT_SCHEDULE,
    Outcome,
    classify,
    next_delay,
    parse_retry_after,
)

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)
RETRYING = [Outcome.ERROR, Outcome.RATE_LIMITED, Outcome.TIMEOUT]
attempt_indexes = st.integers(min_value=0, max_value=len(DEFAULT_SCHEDULE) - 1)
seeds = st.integers(min_value=0, max_value=2**32)


class Fixed(random.Random):
    """A generator whose uniform() always lands at a chosen fraction of the range."""

    def __init__(self, fraction: float):
        """Remember where in [a, b] uniform() lands."""
        super().__init__(0)
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        """Return the fixed point of the range."""
        return a + (b - a) * self.fraction


LOW, HIGH = Fixed(0.0), Fixed(1.0)  # jitter factor 0.8 and 1.2


@given(attempt=attempt_indexes, seed=seeds)
def test_error_delay_stays_in_jitter_band(attempt, seed):
    """An ordinary failure waits the scheduled delay give or take 20 %, whatever the seed."""
    planned = DEFAULT_SCHEDULE[attempt]
    delay = next_delay(DEFAULT_SCHEDULE, attempt, Outcome.ERROR, rng=random.Random(seed))
    assert 0.8 * planned <= delay <= 1.2 * planned


@given(attempt=attempt_indexes, seed=seeds, outcome=st.sampled_from([Outcome.RATE_LIMITED, Outcome.TIMEOUT]))
def test_throttled_delay_is_jitter_band_or_floor(attempt, seed, outcome):
    """After a 429 or timeout the delay is the jittered plan, raised to at least 60 s."""
    planned = DEFAULT_SCHEDULE[attempt]
    delay = next_delay(DEFAULT_SCHEDULE, attempt, outcome, rng=random.Random(seed))
    assert max(60, 0.8 * planned) <= delay <= max(60, 1.2 * planned)


@given(
    attempt=st.integers(min_value=1, max_value=len(DEFAULT_SCHEDULE) - 1),
    seed=seeds,
    retry_after=st.floats(min_value=0, max_value=10**6),
)
def test_retry_after_stays_within_one_to_two_times_the_plan(attempt, seed, retry_after):
    """Any Retry-After ends up between 1x and 2x the jittered plan, so between 0.8x and 2.4x the schedule."""
    planned = DEFAULT_SCHEDULE[attempt]
    delay = next_delay(DEFAULT_SCHEDULE, attempt, Outcome.ERROR, retry_after, random.Random(seed))
    assert 0.8 * planned <= delay <= 2.4 * planned


def test_default_schedule_is_eight_attempts_about_28_hours():
    """The default matches ARCHITECTURE.md: 8 attempts over about 28 hours."""
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert 27 * 3600 < sum(DEFAULT_SCHEDULE) < 29 * 3600


def test_first_attempt_is_immediate():
    """Before any attempt the delay is 0, jitter or not."""
    assert next_delay(DEFAULT_SCHEDULE, 0, Outcome.ERROR, rng=HIGH) == 0


@pytest.mark.parametrize(("rng", "expected"), [(LOW, 240.0), (HIGH, 360.0)])
def test_jitter_band_edges(rng, expected):
    """The factor reaches exactly 0.8 and 1.2 at the ends of the band."""
    assert next_delay(DEFAULT_SCHEDULE, 2, Outcome.ERROR, rng=rng) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (1.0, 300.0),  # asks for sooner than planned: the plan wins
        (300.0, 300.0),
        (450.0, 450.0),  # inside the band: honoured as given
        (600.0, 600.0),
        (86400.0, 600.0),  # asks for far later: capped at twice the plan
        (None, 300.0),
    ],
)
def test_retry_after_is_clamped_both_ways(retry_after, expected):
    """Retry-After is honoured between 1x and 2x of the (jittered) scheduled delay."""
    assert next_delay(DEFAULT_SCHEDULE, 2, Outcome.ERROR, retry_after, rng=Fixed(0.5)) == pytest.approx(expected)


def test_retry_after_clamps_to_the_jittered_plan():
    """The clamp band follows the jitter, not the bare schedule value."""
    assert next_delay(DEFAULT_SCHEDULE, 2, Outcome.ERROR, 1.0, rng=LOW) == pytest.approx(240.0)
    assert next_delay(DEFAULT_SCHEDULE, 2, Outcome.ERROR, 10**6, rng=HIGH) == pytest.approx(720.0)


@pytest.mark.parametrize("outcome", [Outcome.RATE_LIMITED, Outcome.TIMEOUT])
@pytest.mark.parametrize("retry_after", [None, 0.0, 3.0, 8.0])
def test_throttled_floor_of_60_seconds(outcome, retry_after):
    """A 429 or timeout after attempt 1 (plan: 5 s) still waits 60 s, whatever Retry-After says."""
    assert next_delay(DEFAULT_SCHEDULE, 1, outcome, retry_after, rng=HIGH) == 60.0


def test_throttled_floor_does_not_shorten_long_delays():
    """The 60 s floor only raises; a 30-minute plan stays 30 minutes."""
    assert next_delay(DEFAULT_SCHEDULE, 3, Outcome.RATE_LIMITED, rng=Fixed(0.5)) == pytest.approx(1800.0)


def test_error_has_no_floor():
    """An ordinary failure after attempt 1 retries after about 5 s, not 60."""
    assert next_delay(DEFAULT_SCHEDULE, 1, Outcome.ERROR, rng=Fixed(0.5)) == pytest.approx(5.0)


@pytest.mark.parametrize("outcome", RETRYING)
def test_none_after_the_last_attempt(outcome):
    """Once every scheduled attempt is made there is no next one."""
    assert next_delay(DEFAULT_SCHEDULE, len(DEFAULT_SCHEDULE), outcome) is None
    assert next_delay(DEFAULT_SCHEDULE, len(DEFAULT_SCHEDULE) + 3, outcome, 10.0) is None
    assert next_delay(DEFAULT_SCHEDULE, len(DEFAULT_SCHEDULE) - 1, outcome) is not None


@pytest.mark.parametrize("outcome", [Outcome.SUCCESS, Outcome.GONE])
@pytest.mark.parametrize("attempt", [0, 1, 4])
def test_none_after_success_or_gone(outcome, attempt):
    """Delivered, or 410 Gone: never try again."""
    assert next_delay(DEFAULT_SCHEDULE, attempt, outcome, 30.0) is None


def test_custom_schedule_and_empty_schedule():
    """Any schedule works; an empty one allows no attempt at all."""
    assert next_delay((0, 10), 1, Outcome.ERROR, rng=Fixed(0.5)) == pytest.approx(10.0)
    assert next_delay((0, 10), 2, Outcome.ERROR) is None
    assert next_delay((), 0, Outcome.ERROR) is None


def test_negative_attempts_refused():
    """A negative attempt count is a bug in the caller, not a schedule index."""
    with pytest.raises(ValueError, match="negative"):
        next_delay(DEFAULT_SCHEDULE, -1, Outcome.ERROR)


def test_default_rng_stays_in_band():
    """Without an injected generator the delay is still within the band."""
    assert 240 <= next_delay(DEFAULT_SCHEDULE, 2, Outcome.ERROR) <= 360


@pytest.mark.parametrize(
    ("status", "timed_out", "expected"),
    [
        (200, False, Outcome.SUCCESS),
        (201, False, Outcome.SUCCESS),
        (204, False, Outcome.SUCCESS),
        (299, False, Outcome.SUCCESS),
        (410, False, Outcome.GONE),
        (429, False, Outcome.RATE_LIMITED),
        (100, False, Outcome.ERROR),
        (199, False, Outcome.ERROR),
        (300, False, Outcome.ERROR),
        (301, False, Outcome.ERROR),  # redirects are not followed
        (302, False, Outcome.ERROR),
        (307, False, Outcome.ERROR),
        (308, False, Outcome.ERROR),
        (400, False, Outcome.ERROR),
        (401, False, Outcome.ERROR),
        (404, False, Outcome.ERROR),
        (408, False, Outcome.ERROR),
        (500, False, Outcome.ERROR),
        (502, False, Outcome.ERROR),
        (503, False, Outcome.ERROR),
        (504, False, Outcome.ERROR),
        (None, False, Outcome.ERROR),  # connection refused, DNS failure, TLS error
        (None, True, Outcome.TIMEOUT),
        (200, True, Outcome.TIMEOUT),  # a timeout is never proof of delivery
    ],
)
def test_classify(status, timed_out, expected):
    """Status codes and timeouts map to the outcome that drives retrying."""
    assert classify(status, timed_out) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("  30 ", 30.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("Wed, 15 Jan 2025 12:02:00 GMT", 120.0),  # IMF-fixdate
        ("Wednesday, 15-Jan-25 12:00:30 GMT", 30.0),  # obsolete RFC 850 form
        ("Wed Jan 15 12:01:00 2025", 60.0),  # obsolete asctime form
        ("Wed, 15 Jan 2025 11:00:00 GMT", 0.0),  # already past
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("12 seconds", None),
        ("1e3", None),
        ("NaN", None),
        ("inf", None),
        ("9" * 400, None),  # too large to be a number of seconds
        ("Wed, 99 Foo 2025 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value, expected):
    """Both delta-seconds and HTTP-date forms parse; garbage gives None; the past gives 0."""
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_with_naive_now():
    """A naive "now" is read as UTC rather than failing on comparison."""
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 15 Jan 2025 12:00:10 GMT", naive) == 10.0


def test_parse_retry_after_with_other_timezone_now():
    """The same instant expressed in another zone gives the same answer."""
    elsewhere = NOW.astimezone(timezone(timedelta(hours=5)))
    assert parse_retry_after("Wed, 15 Jan 2025 12:00:10 GMT", elsewhere) == 10.0


def test_outcome_values_are_stable_strings():
    """Outcome values are plain strings, safe to store and log."""
    assert [o.value for o in Outcome] == ["success", "gone", "rate_limited", "timeout", "error"]
