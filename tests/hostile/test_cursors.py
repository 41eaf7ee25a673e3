"""The one cursor codec (app/cursors.py): issued cursors read back in the same wire formats; others are BadCursor."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.cursors import BadCursor, feed_cursor, feed_position, motion_cursor, motion_position
from tests.hostile.conftest import assert_field_refused
from tests.hostile.strategies import HOSTILE, hostile_text

aware_moment = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
motion_id = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), min_size=1, max_size=40)
feed_index = st.integers(min_value=0, max_value=2**63 - 1)


@HOSTILE
@given(at=aware_moment, motion=motion_id)
def test_a_motion_cursor_reads_back_its_position(at, motion):
    """What the list issues, it reads back: the same moment (in UTC) and motion id."""
    assert motion_position(motion_cursor(at, motion)) == (at, motion)


@HOSTILE
@given(position=feed_index)
def test_a_feed_cursor_reads_back_its_position(position):
    """What the feed issues, it reads back, across the whole BIGINT range."""
    assert feed_position(feed_cursor(position)) == position


def test_the_wire_formats_are_those_issued_before():
    """Cursors callers already hold keep working: base64url without padding of the same texts."""
    assert feed_cursor(5) == "ZTU" and feed_position("ZTU") == 5
    at = datetime(2026, 1, 1, tzinfo=UTC)
    issued = "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIm1vdF8xIl0"  # ["2026-01-01T00:00:00+00:00", "mot_1"]
    assert motion_cursor(at, "mot_1") == issued and motion_position(issued) == (at, "mot_1")


def test_a_motion_cursor_in_another_zone_is_read_in_utc():
    """A position written with an offset is the same instant in UTC."""
    at = datetime(2026, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert motion_position(motion_cursor(at, "mot_1")) == (datetime(2026, 1, 1, tzinfo=UTC), "mot_1")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        feed_cursor(5) + "A" * 300,  # over the length bound
        feed_cursor(2**63),  # past BIGINT
        feed_cursor(-1),
        motion_cursor(datetime(2026, 1, 1, tzinfo=UTC), "mot_1"),  # the other kind of cursor
    ],
)
def test_feed_cursors_we_did_not_issue_are_refused(cursor):
    """Garbage, an out-of-range position, an over-long or a motion-list cursor: BadCursor."""
    with pytest.raises(BadCursor):
        feed_position(cursor)


@pytest.mark.parametrize(
    "cursor", ["", "not base64!", feed_cursor(5), "W10", "e30", "W1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1d"]
)
def test_motion_cursors_we_did_not_issue_are_refused(cursor):
    """Garbage, a feed cursor, an empty list, an object, nested lists: BadCursor."""
    with pytest.raises(BadCursor):
        motion_position(cursor)


@HOSTILE
@given(text=hostile_text)
def test_any_text_is_a_position_or_bad_cursor(text):
    """No input makes a reader fail any other way (the API turns BadCursor into a 422)."""
    for read in (feed_position, motion_position):
        try:
            read(text)
        except BadCursor:
            pass


def test_an_over_long_feed_cursor_is_422_naming_after(client, auth):
    """GET /v1/events with an `after` over 256 characters: 422 naming after."""
    assert_field_refused(client.get(f"/v1/events?after={feed_cursor(5)}{'A' * 300}", headers=auth), "after")
