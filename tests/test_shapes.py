"""shapes.motion_json, the direct serialiser of the paths that answer many motions, gives MotionSchema's output."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import Motion, Priority, Status
from app.shapes import motion_json, motion_schema
from tests.hostile.strategies import HOSTILE, hostile_text

maybe_text = st.one_of(st.none(), hostile_text)
maybe_integer = st.one_of(st.none(), st.integers())
maybe_time = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.datetimes(timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=0)),
)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), hostile_text), lambda inner: st.dictionaries(hostile_text, inner)
)
error = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"code": maybe_text, "message": maybe_text, "jogg_code": maybe_integer}),
)
motion = st.builds(
    Motion,
    id=hostile_text,
    status=st.sampled_from(list(Status)),
    image_url=hostile_text,
    name=hostile_text,
    voice_id=hostile_text,
    model=st.sampled_from(["2.0", "1.5"]),
    photo_id=maybe_text,
    description=maybe_text,
    welcome_msg=maybe_text,
    callback_url=maybe_text,
    meta=st.one_of(st.none(), st.dictionaries(hostile_text, json_value, max_size=4)),
    external_id=maybe_text,
    priority=st.sampled_from(list(Priority)),
    jogg_motion_id=maybe_text,
    avatar_id=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
    preview_url=maybe_text,
    error=error,
    created_at=maybe_time,
    updated_at=maybe_time,
    submitted_at=maybe_time,
    completed_at=maybe_time,
    credits=st.one_of(st.none(), st.integers(0, 10**6)),
    reuse=st.booleans(),
    reused_from=maybe_text,
)


@settings(HOSTILE, max_examples=300)
@given(motion)
def test_motion_json_is_motion_schemas_output(built):
    """Same keys in the same order, same values, for any motion (odd text, missing error keys, no times)."""
    direct, schema = motion_json(built), motion_schema.dump(built)
    assert direct == schema
    assert list(direct) == list(schema)


def test_a_time_in_another_zone_keeps_its_offset_as_the_schema_writes_it():
    """A time with another offset is written as the schema writes it (isoformat, offset kept)."""
    india = timezone(timedelta(hours=5, minutes=30))
    built = Motion(id="m", status=Status.QUEUED, created_at=datetime(2026, 1, 1, 9, 30, 0, 5, tzinfo=india))
    assert (
        motion_json(built)["created_at"]
        == motion_schema.dump(built)["created_at"]
        == "2026-01-01T09:30:00.000005+05:30"
    )
