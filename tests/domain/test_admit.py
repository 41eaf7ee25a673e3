"""admit: new motions written with their first history row, alone or many at once, as their rows hold them."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import DataError

from app.domain import reuse
from app.domain.motions import Written
from app.domain.text import unstorable_reason
from app.domain.transitions import admit, admit_values
from app.models import Motion, MotionEvent, Source, Status
from app.models.motion import new_motion_id
from app.shapes import motion_json
from tests.hostile.strategies import HOSTILE, hostile_text

ATTRIBUTES = [attr.key for attr in Motion.__mapper__.column_attrs]
WRITTEN_AT = ("id", "created_at", "updated_at")  # what differs between two admissions of the same request


@pytest.fixture
def caller_id(make_caller):
    """A caller to own the motions."""
    return make_caller()[0]


def request_values(caller_id: int, **fields) -> dict:
    """A plain request's attribute values, as motions.motion_values gives them."""
    values = dict(
        id=new_motion_id(),
        caller_id=caller_id,
        image_url="https://i.example.com/a.png",
        name="Ann",
        voice_id="v",
        model="2.0",
        photo_id=None,
        description=None,
        welcome_msg=None,
        callback_url=None,
        meta=None,
        external_id=None,
        priority="normal",
        reuse=False,
        reused_from=None,
    )
    values.update(fields)
    return {**values, "content_key": reuse.content_key(values)}


VARIED = [
    {},
    {"meta": {"order": 7, "tags": ["a", "b"], "nested": {"x": None}}, "priority": "high"},
    {"description": 'quiet, "quoted" {braces}, back\\slash', "welcome_msg": "", "photo_id": "NULL"},
    {"callback_url": "https://cb.example.com/h", "name": "Zoë 名前 ", "meta": {}},
    {"meta": {"say": 'he said "hi" \\o/ {x}, NULL', "k\u2028": ["\u3000", "😀"]}, "welcome_msg": " \t{}"},
]


def stored(session, motion_id: str) -> dict:
    """Every attribute of the motion as its row holds it, read afresh."""
    motion = session.get(Motion, motion_id, populate_existing=True)
    return {key: getattr(motion, key) for key in ATTRIBUTES}


def sql_nulls(session, motion_id: str) -> tuple:
    """Which JSON columns hold SQL NULL rather than JSON null (both read back as None)."""
    nulls = (Motion.meta.is_(None), Motion.error.is_(None), Motion.submission_evidence.is_(None))
    return tuple(session.execute(select(*nulls).where(Motion.id == motion_id)).one())


def history(session, motion_id: str) -> list[tuple]:
    """The motion's history rows, oldest first."""
    rows = session.execute(
        select(MotionEvent.at, MotionEvent.from_status, MotionEvent.to_status, MotionEvent.source, MotionEvent.detail)
        .where(MotionEvent.motion_id == motion_id)
        .order_by(MotionEvent.id)
    )
    return [tuple(row) for row in rows]


def test_the_values_admit_returns_are_the_rows_it_wrote(session, caller_id):
    """Each motion admitted with others comes back as every attribute its row got (defaults too), one history row."""
    written = admit_values(session, [request_values(caller_id, **fields) for fields in VARIED], Source.API)
    session.commit()
    assert [set(values) for values in written] == [set(ATTRIBUTES)] * len(VARIED)
    for values in written:
        assert stored(session, values["id"]) == values
        assert history(session, values["id"]) == [(values["created_at"], None, Status.QUEUED, Source.API, None)]


def test_many_motions_are_written_as_each_alone_would_be(session, caller_id):
    """admit of several motions (one array INSERT on PostgreSQL) stores the rows admit of one stores, in order."""
    together = admit_values(session, [request_values(caller_id, **fields) for fields in VARIED], Source.API)
    alone = [admit(session, [request_values(caller_id, **fields)], Source.API)[0] for fields in VARIED]
    session.commit()
    for many, one in zip(together, alone, strict=True):
        row_many, row_one = stored(session, many["id"]), stored(session, one.id)
        assert {k: v for k, v in row_many.items() if k not in WRITTEN_AT} == {
            k: v for k, v in row_one.items() if k not in WRITTEN_AT
        }
        assert sql_nulls(session, many["id"]) == sql_nulls(session, one.id)
        assert [event[1:] for event in history(session, many["id"])] == [(None, Status.QUEUED, Source.API, None)]
    events = session.scalars(
        select(MotionEvent.motion_id).where(MotionEvent.motion_id.in_([v["id"] for v in together]))
    )
    assert sorted(events) == sorted(v["id"] for v in together)


def test_a_motion_admitted_with_others_answers_as_the_motion_read_back(session, caller_id):
    """motion_json of the returned values (what a batch answers) equals motion_json of the motion read afresh."""
    written = admit_values(session, [request_values(caller_id, **fields) for fields in VARIED], Source.API)
    session.commit()
    for values in written:
        read_back = session.get(Motion, values["id"], populate_existing=True)
        assert motion_json(Written(**values)) == motion_json(read_back)


def test_text_too_long_for_its_column_is_refused_not_cut(session, caller_id, engine):
    """Several motions at once: a value over its column's length fails the INSERT, as it does for one motion."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not hold text to a column's length")
    requests = [request_values(caller_id), request_values(caller_id, name="n" * 201)]
    with pytest.raises(DataError, match="too long"):
        admit_values(session, requests, Source.API)
    session.rollback()


storable = hostile_text.filter(lambda text: unstorable_reason(text) is None)
leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), storable)
hostile_request = st.fixed_dictionaries(
    {"name": storable.map(lambda text: text[:200] or "n"), "description": st.one_of(st.none(), storable)},
    optional={
        "photo_id": st.one_of(st.none(), storable.map(lambda text: text[:255])),
        "welcome_msg": st.one_of(st.none(), storable),
        "meta": st.one_of(
            st.none(), st.dictionaries(storable, st.one_of(leaf, st.lists(leaf, max_size=3)), max_size=4)
        ),
        "callback_url": st.one_of(st.none(), storable.map(lambda text: text[:2048])),
    },
)


@settings(HOSTILE, max_examples=40)
@given(fields=hostile_request)
def test_odd_text_is_written_together_as_alone(session, caller_id, fields):
    """Odd but storable text and metadata: admitted with others, a request's row is the row admitted alone gives."""
    together = admit_values(session, [request_values(caller_id), request_values(caller_id, **fields)], Source.API)[1]
    alone = admit(session, [request_values(caller_id, **fields)], Source.API)[0]
    session.commit()
    row_many, row_one = stored(session, together["id"]), stored(session, alone.id)
    assert {k: v for k, v in row_many.items() if k not in WRITTEN_AT} == {
        k: v for k, v in row_one.items() if k not in WRITTEN_AT
    }
    assert row_many == together and sql_nulls(session, together["id"]) == sql_nulls(session, alone.id)
