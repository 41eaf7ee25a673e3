"""The clock: each task on its interval, or sooner when the task says when it is next due (a POST slot freeing)."""

import pytest
import redis

from app import budget as budget_module
from app import jogg_connection
from app.domain.dispatch import LEAD_MAX, LEAD_MIN
from app.jobs import Periodic, schedule
from workers import clock as clock_module
from workers.clock import Clock


class FakeTime:
    """monotonic() and sleep() for the clock's loop: a sleep moves time on at once, so a run is exact and instant."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_for(app, monkeypatch, seconds: float, *tasks: Periodic) -> None:
    """Run a clock with only these tasks for `seconds` of fake time."""
    monkeypatch.setattr(clock_module, "time", FakeTime())
    clock = Clock(app)
    clock.tasks = list(tasks)
    clock.run(max_seconds=seconds)


def counter(runs: dict, name: str):
    """A task function counting its runs under `name`."""
    return lambda: runs.__setitem__(name, runs.get(name, 0) + 1)


def test_a_task_runs_again_when_it_says_not_only_on_its_interval(app, redis_client, monkeypatch):
    """Over 1 s, a task whose `until_next` says 0.1 s runs 10 times though its interval is 10 s; one without, once."""
    runs: dict = {}
    soon = Periodic("soon", counter(runs, "soon"), 10.0, until_next=lambda: 0.1)
    plain = Periodic("plain", counter(runs, "plain"), 10.0)
    run_for(app, monkeypatch, 0.95, soon, plain)
    assert runs == {"soon": 10, "plain": 1}


def test_until_next_never_puts_a_task_off_past_its_interval(app, redis_client, monkeypatch):
    """A task's `until_next` of an hour, or None, leaves it on its interval (0.1 s: 10 runs in 1 s)."""
    runs: dict = {}
    late = Periodic("late", counter(runs, "late"), 0.1, until_next=lambda: 3600.0)
    none = Periodic("none", counter(runs, "none"), 0.1, until_next=lambda: None)
    run_for(app, monkeypatch, 0.95, late, none)
    assert runs == {"late": 10, "none": 10}


def test_a_failing_until_next_falls_back_to_the_interval(app, redis_client, monkeypatch):
    """Redis unreachable when the task asks when it is next due: it runs on its interval, the clock goes on."""
    runs: dict = {}

    def unreachable():
        raise redis.ConnectionError("Redis is down")

    run_for(app, monkeypatch, 0.95, Periodic("failing", counter(runs, "failing"), 0.1, until_next=unreachable))
    assert runs == {"failing": 10}


def test_the_dispatch_runs_as_the_next_slot_comes_within_reach(app, settings, redis_client, monkeypatch):
    """The timetable's dispatch runs again a lead before the next POST slot frees (none taken: on its interval);
    the lead grows with the lags the submit jobs report, up to its bound."""
    monkeypatch.setattr(budget_module, "LAGS_READ_EVERY", 0.0)  # every read sees the lags reported just before
    dispatch = next(task for task in schedule(settings) if task.name == "dispatch")
    with app.app_context():
        budget = jogg_connection.post_budget()
        budget.reset()
        assert dispatch.until_next() is None
        budget.settle(budget.acquire())  # a POST answered now: its slot frees one window from now
        due_in = dispatch.until_next()
        budget.release(budget.acquire(lag=0.15))  # a submit job came 0.15 s after its dispatch
        due_in_later = dispatch.until_next()
        budget.reset()
    window = budget.window_seconds
    assert window - LEAD_MIN - 1.0 < due_in <= window - LEAD_MIN
    assert due_in_later == pytest.approx(due_in - (0.15 - LEAD_MIN), abs=0.05) and due_in_later <= window - 0.15
    assert LEAD_MAX < window
