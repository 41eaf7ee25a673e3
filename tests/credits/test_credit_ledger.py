"""The credit ledger: costs, quota periods, and what a caller spent and reserved, on the real database."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import credits
from app.models import Caller, Motion, Status

COSTS = {"1.0": 2, "2.0": 2, "2.0-Pro": 3, "3.0": 2}


def test_a_day_runs_from_midnight_to_midnight_utc():
    """The day period holds `now` and resets at the next UTC midnight."""
    start, end = credits.period_bounds("day", datetime(2026, 11, 29, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))


def test_december_resets_on_the_first_of_january():
    """The month period rolls over the year."""
    start, end = credits.period_bounds("month", datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(credits.PERIODS))  # fmt: skip
def test_every_instant_lies_in_its_period(now, period):
    """Any instant falls inside its period, which is at most a month long."""
    start, end = credits.period_bounds(period, now)
    assert start <= now < end and end - start <= timedelta(days=31)


def test_an_unknown_period_is_refused():
    """Only day and month are periods."""
    with pytest.raises(ValueError, match="day, month"):
        credits.period_bounds("week", datetime.now(UTC))


def _motion(caller_id, model="2.0", status=Status.QUEUED, **fields):
    return Motion(caller_id=caller_id, status=status, image_url="https://example.com/a.png", name="n",
                  voice_id="v", model=model, **fields)  # fmt: skip


def test_spent_and_reserved_count_only_what_they_should(session, make_caller):
    """Spent: charges in the period; reserved: queued, uncharged, not following another motion."""
    caller = session.get(Caller, make_caller()[0])
    now = datetime.now(UTC)
    start, end = credits.period_bounds("day", now)
    leader = _motion(caller.id, status=Status.PROCESSING, credits=3, charged_at=now, model="2.0-Pro")
    session.add(leader)
    session.flush()
    session.add_all([
        _motion(caller.id, status=Status.COMPLETED, credits=2, charged_at=now - timedelta(days=2)),  # another day
        _motion(caller.id, status=Status.QUEUED, credits=2, charged_at=now),  # in doubt: charged, not reserved
        _motion(caller.id, model="2.0-Pro"),  # reserved 3
        _motion(caller.id, model="1.0"),  # reserved 2
        _motion(caller.id, reused_from=leader.id),  # follows the leader: free
        _motion(caller.id, status=Status.CANCELLED),  # cancelled before its POST: frees its reservation
    ])  # fmt: skip
    session.flush()
    assert credits.spent(session, caller.id, start, end) == 5
    assert credits.reserved(session, caller.id, COSTS) == 5
    caller.quota_credits, caller.quota_period = 20, "day"
    status = credits.quota_status(session, caller, COSTS, now)
    assert (status.used, status.reserved, status.room, status.resets_at) == (5, 5, 10, end)
    session.rollback()
