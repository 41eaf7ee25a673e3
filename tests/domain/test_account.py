"""The JoggAI account row: whether it stops POSTs, read in Python and as the SQL condition submissions record under."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import account as accounts
from app.models import JoggAccount
from app.models.types import utcnow


@pytest.mark.parametrize(
    ("paused_reason", "cooldown_in", "stopped"),
    [
        (None, None, False),
        (accounts.OUT_OF_CREDIT, None, True),
        (None, 30, True),
        (None, -30, False),
        (accounts.BAD_CREDENTIALS, -30, True),
    ],
)
def test_blocking_says_in_sql_what_blocked_by_says(session, paused_reason, cooldown_in, stopped):
    """Paused, or cooling down past now, stops POSTs; a cool-down over or no row at all does not."""
    now = utcnow()
    assert session.scalar(select(accounts.blocking(now))) is False  # never written: a fresh account
    row = accounts.load(session)
    row.paused_reason = paused_reason
    row.cooldown_until = now + timedelta(seconds=cooldown_in) if cooldown_in is not None else None
    session.flush()
    assert bool(accounts.blocked_by(session.get(JoggAccount, row.id), now)) is stopped
    assert session.scalar(select(accounts.blocking(now))) is stopped
    session.rollback()
