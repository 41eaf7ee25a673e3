"""The shared POST budget: a moving window in Redis, with a guard before a freed slot is handed out."""

import pytest

from app.budget import PostBudget


@pytest.fixture
def clock(monkeypatch):
    """The time the limiter's Redis scripts are given, under the test's control."""
    import limits.storage.redis as storage_module

    now = {"t": 1_000_000.0}
    monkeypatch.setattr(storage_module.time, "time", lambda: now["t"])
    return now


@pytest.fixture
def budget(redis_url, redis_client):
    """2 POSTs per 10 s (guard 0.25 s), under a key of its own."""
    budget = PostBudget(redis_url, "2 per 10 seconds", "budget-test-key")
    budget.reset()
    return budget


def test_a_full_window_refuses_and_frees_after_the_window_plus_the_guard(budget, clock, app):
    """Two hits fill the window; a slot counts as free for the dispatcher only 0.25 s after the window."""
    assert budget.guard_seconds == 0.25
    assert budget.try_acquire() and budget.try_acquire()
    assert not budget.try_acquire()
    assert budget.free_slots() == 0
    clock["t"] += 10.1  # past the window: the limiter itself would let a POST through ...
    assert budget._limiter.get_window_stats(budget.rate, "jogg-post", budget._account).remaining == 2
    assert budget.free_slots() == 0  # ... but the dispatcher waits out the guard
    clock["t"] += 0.2
    assert budget.free_slots() == 2
    assert budget.try_acquire()
    assert budget.free_slots() == 1


def test_the_guard_is_a_small_share_of_long_windows(redis_url):
    """JoggAI's real window (20 per minute): a 1 s guard, under 2 % of the capacity."""
    assert PostBudget(redis_url, "20/minute", "k").guard_seconds == 1.0
    assert PostBudget(redis_url, "20 per 2 seconds", "k").guard_seconds == 0.05


def test_next_free_in_counts_down_to_the_guarded_slot(budget, clock, app):
    """With the window full, the next slot is free 10.25 s after the oldest POST; zero once it is."""
    assert budget.next_free_in() == 0.0
    budget.try_acquire()
    clock["t"] += 1.0
    budget.try_acquire()
    assert budget.next_free_in() == pytest.approx(9.25)
    clock["t"] += 9.26
    assert budget.next_free_in() == 0.0 and budget.free_slots() == 1
