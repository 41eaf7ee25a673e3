"""The clock: each task on its interval, or sooner when the task says when it is next due (a POST slot freeing)."""

import redis

from app import jogg_connection
from app.domain.dispatch import AHEAD
from app.jobs import Periodic, schedule
from workers.clock import Clock


def clock_with(app, *tasks: Periodic) -> Clock:
    """A clock running only these tasks."""
    clock = Clock(app)
    clock.tasks = list(tasks)
    return clock


def test_a_task_runs_again_when_it_says_not_only_on_its_interval(app, redis_client):
    """A task whose `until_next` says 0.02 s runs many times within an interval of 10 s; one without runs once."""
    runs = {"soon": 0, "plain": 0}
    soon = Periodic("soon", lambda: runs.__setitem__("soon", runs["soon"] + 1), 10.0, until_next=lambda: 0.02)
    plain = Periodic("plain", lambda: runs.__setitem__("plain", runs["plain"] + 1), 10.0)
    clock_with(app, soon, plain).run(max_seconds=0.5)
    assert runs["plain"] == 1
    assert runs["soon"] >= 5


def test_until_next_never_puts_a_task_off_past_its_interval(app, redis_client):
    """A task's `until_next` of an hour, or None, leaves it on its interval."""
    runs = {"late": 0, "none": 0}
    late = Periodic("late", lambda: runs.__setitem__("late", runs["late"] + 1), 0.05, until_next=lambda: 3600.0)
    none = Periodic("none", lambda: runs.__setitem__("none", runs["none"] + 1), 0.05, until_next=lambda: None)
    clock_with(app, late, none).run(max_seconds=0.5)
    assert runs["late"] >= 5 and runs["none"] >= 5


def test_a_failing_until_next_falls_back_to_the_interval(app, redis_client):
    """Redis unreachable when the task asks when it is next due: it runs on its interval, the clock goes on."""
    runs = {"n": 0}

    def unreachable():
        raise redis.ConnectionError("Redis is down")

    task = Periodic("failing", lambda: runs.__setitem__("n", runs["n"] + 1), 0.05, until_next=unreachable)
    clock_with(app, task).run(max_seconds=0.4)
    assert runs["n"] >= 4


def test_the_dispatch_runs_as_the_next_slot_comes_within_reach(app, settings, redis_client):
    """The timetable's dispatch runs again AHEAD before the next POST slot frees (none taken: on its interval)."""
    dispatch = next(task for task in schedule(settings) if task.name == "dispatch")
    with app.app_context():
        budget = jogg_connection.post_budget()
        budget.reset()
        assert dispatch.until_next() is None
        budget.settle(budget.acquire())  # a POST answered now: its slot frees one window from now
        due_in = dispatch.until_next()
        budget.reset()
    assert budget.window_seconds - AHEAD - 1.0 < due_in <= budget.window_seconds - AHEAD
