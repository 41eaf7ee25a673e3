"""The shared POST budget: a moving window in Redis whose slots are dated by JoggAI's answer, not by a guard."""

import time

import pytest
import redis

from app import budget as budget_module
from app.budget import LAG_SAMPLES, PostBudget
from app.domain.dispatch import LEAD_MAX, LEAD_MIN, lead


@pytest.fixture
def budget(redis_url, redis_client):
    """2 POSTs per 10 s, a 5 s POST timeout (so a 10 s hold), under a key of its own; Redis' clock."""
    budget = PostBudget(redis_url, "2 per 10 seconds", "budget-test-key", post_timeout=5.0)
    budget.reset()
    yield budget
    budget.reset()


@pytest.fixture
def clock(budget):
    """The time the budget's Redis scripts are given, under the test's control."""
    now = {"t": 1_000_000.0}
    budget.clock = lambda: now["t"]
    return now


def test_a_slot_frees_one_window_after_the_answer_that_settled_it(budget, clock):
    """Two POSTs fill the window; each slot frees exactly one window after its answer came, not after its hit."""
    first, second = budget.acquire(), budget.acquire()
    assert first and second and budget.acquire() is None and not budget.try_acquire()
    clock["t"] += 0.25  # the first POST's answer: JoggAI counted it at most now
    budget.settle(first)
    clock["t"] += 0.25
    budget.settle(second)
    clock["t"] += 9.625  # one window after the first hit, but not yet after the first answer
    assert budget.state() == (0, 0, pytest.approx(0.125))
    clock["t"] += 0.125
    assert budget.state() == (1, 1, pytest.approx(0.0)) and budget.acquire()
    assert budget.free_slots() == 0 and budget.next_free_in() == pytest.approx(0.25)


def test_an_unsettled_slot_keeps_its_date_ahead(budget, clock):
    """A slot whose process died mid-POST frees one window after its hit plus the POST's longest life."""
    assert budget.hold == 10.0
    budget.acquire()
    clock["t"] += 19.9
    assert budget.acquire() and budget.acquire() is None  # one slot still held by the unanswered POST
    clock["t"] += 0.1
    assert budget.acquire()


def test_a_released_slot_is_free_at_once(budget, clock):
    """Nothing was sent with it: the slot goes back, undated."""
    first = budget.acquire()
    budget.acquire()
    budget.release(first)
    assert budget.free_slots() == 1 and budget.acquire()


def test_state_counts_the_slots_freeing_within_the_horizon(budget, clock):
    """The dispatcher hands out slots that free within its horizon; the wait is to the first of them."""
    first, second = budget.acquire(), budget.acquire()
    budget.settle(first)
    clock["t"] += 0.25
    budget.settle(second)
    clock["t"] += 9.625
    assert budget.state(0.25) == (0, 1, pytest.approx(0.125))
    assert budget.state(0.5) == (0, 2, pytest.approx(0.125))


def test_next_within_says_when_one_more_slot_comes_within_the_horizon(budget, clock):
    """The clock's next dispatch: when the next slot not handed out yet starts to free within the horizon."""
    assert budget.next_within(0.25) is None  # nothing taken: nothing to wait for
    first, second = budget.acquire(), budget.acquire()
    budget.settle(first)
    clock["t"] += 0.25
    budget.settle(second)
    clock["t"] += 9.625  # the first frees in 0.125 s, the second in 0.375 s
    assert budget.next_within(0.25) == pytest.approx(0.125)  # the first is within the horizon: the second's turn
    assert budget.next_within(0.0) == pytest.approx(0.125)
    clock["t"] += 0.5
    assert budget.next_within(0.25) is None  # both freed


def test_an_unsettled_slot_is_a_hold_away(budget, clock):
    """A slot whose POST has not answered yet is dated ahead by the hold: the next dispatch for it is far off."""
    budget.acquire()
    assert budget.next_within(0.25) == pytest.approx(10.0 + 10.0 - 0.25)  # the hold, then the window


def test_acquire_waits_for_the_instant_a_slot_frees(redis_url, redis_client):
    """On Redis' own clock: a full window, a waiting acquire gets the slot as it frees, not before, not much after."""
    budget = PostBudget(redis_url, "1 per 1 second", "budget-wait-key", post_timeout=5.0)
    budget.reset()
    budget.settle(budget.acquire())
    frees_in = budget.next_free_in()
    assert 0.9 < frees_in <= 1.0
    assert budget.acquire(wait=frees_in - 0.2) is None  # gives up at once when the slot frees after the wait
    started = time.monotonic()
    assert budget.acquire(wait=1.5)
    waited = time.monotonic() - started
    assert frees_in - 0.25 <= waited < frees_in + 0.2
    budget.reset()


def test_windows_are_shared_by_key_and_rate(redis_url, redis_client):
    """Two views of the same key share slots; another key has its own."""
    one, other = (PostBudget(redis_url, "1 per 10 seconds", "shared-key") for _ in range(2))
    stranger = PostBudget(redis_url, "1 per 10 seconds", "another-key")
    for budget in (one, stranger):
        budget.reset()
    assert one.try_acquire() and not other.try_acquire() and stranger.try_acquire()
    one.reset()
    stranger.reset()


def test_settle_never_raises(budget, monkeypatch):
    """Redis unreachable after the POST: the answer still reaches its caller; the slot keeps its date ahead."""
    slot = budget.acquire()

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(budget, "_settle", down)
    budget.settle(slot)


def test_slot_requests_keep_the_latest_lags(budget, monkeypatch):
    """A slot request may say how long its job took since its dispatch: kept whether it got a slot or not, newest
    first, the latest LAG_SAMPLES only."""
    monkeypatch.setattr(budget_module, "LAGS_READ_EVERY", 0.0)
    assert budget.recent_lags() == []
    assert budget.acquire(lag=0.5) and budget.acquire(lag=0.25) and budget.acquire(lag=0.125) is None
    assert budget.recent_lags() == [0.125, 0.25, 0.5]
    for i in range(LAG_SAMPLES):
        budget.acquire(lag=i / 1000)
    assert budget.recent_lags() == [i / 1000 for i in reversed(range(LAG_SAMPLES))]


def test_a_process_reads_the_lags_at_most_once_a_second(budget):
    """The dispatcher's passes (up to 20 a second) share one read of the lags per LAGS_READ_EVERY."""
    budget.acquire(lag=0.2)
    assert budget.recent_lags() == [0.2]
    budget.acquire(lag=0.3)
    assert budget.recent_lags() == [0.2]


def test_lags_that_are_not_seconds_are_left_out(budget, redis_client, monkeypatch):
    """Whatever else the lags list holds (an operator's mistake, another version's format) is skipped, never raised:
    every dispatch pass reads it."""
    monkeypatch.setattr(budget_module, "LAGS_READ_EVERY", 0.0)
    budget.acquire(lag=0.2)
    redis_client.lpush(budget._lags_key, "fast", "nan", "-1", "inf", "", "0.1")
    assert budget.recent_lags() == [0.1, 0.2]


def test_a_slot_released_while_redis_is_down_keeps_its_date(budget, monkeypatch, caplog):
    """Releasing never raises: the error the caller is handling (or the outcome it records) goes on."""
    slot = budget.acquire()

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(budget._redis, "zrem", down)
    budget.release(slot)
    assert "not released" in caplog.text
    monkeypatch.undo()
    assert budget.free_slots() == 1  # the slot still counts: it frees after the hold, as an unsettled one


def test_the_lead_is_the_median_lag_within_its_bounds():
    """No lags yet: the least lead; else the median of the latest, never below LEAD_MIN nor above LEAD_MAX."""
    assert lead([]) == LEAD_MIN
    assert lead([0.01, 0.02, 0.5]) == LEAD_MIN
    assert lead([0.4, 0.08, 0.12]) == 0.12
    assert lead([1.0, 2.0, 0.01]) == LEAD_MAX
