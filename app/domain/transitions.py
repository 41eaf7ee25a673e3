"""The one state machine: every motion status change goes through transition() (a new motion's first, admit())."""

import functools

from sqlalchemy import String, bindparam, func, insert, null, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import make_transient_to_detached

from app import nudges
from app.domain import notification_events, reuse
from app.domain.errors import IllegalTransition
from app.models import Motion, MotionEvent, Source, Status
from app.models.types import UTCDateTime, utcnow

FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

ALLOWED: dict[Status | None, frozenset[Status]] = {
    None: frozenset({Status.QUEUED}),
    Status.QUEUED: frozenset({Status.PROCESSING, Status.CANCELLED, Status.FAILED}),
    Status.PROCESSING: frozenset({Status.COMPLETED, Status.FAILED}),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# failed -> queued is a retry, which only a person may ask for.
EXPLICIT_ONLY = {(Status.FAILED, Status.QUEUED): frozenset({Source.API, Source.OPERATOR})}


def can_move(current: Status | None, target: Status, source: Source) -> bool:
    """Whether the state machine allows this move from this source."""
    if target not in ALLOWED[current]:
        return False
    allowed_sources = EXPLICIT_ONLY.get((current, target))
    return allowed_sources is None or source in allowed_sources


def transition(session, motion: Motion, target: Status, source: Source, detail: dict | None = None) -> MotionEvent:
    """Move a motion to a new status, writing its event row and follow-up work in the same transaction."""
    source = _known(source)
    current = Status(motion.status) if motion.status else None
    if not can_move(current, target, source):
        raise IllegalTransition(
            f"motion {motion.id} cannot go from {current or 'nothing'} to {target} (source {source})",
            from_status=current and str(current),
            to_status=str(target),
        )
    now = utcnow()
    motion.status = target
    motion.updated_at = now
    _stamp(motion, target, now, current)
    event = MotionEvent(
        motion_id=motion.id, at=now, from_status=current, to_status=target, source=source, detail=detail
    )
    session.add(event)
    notification_events.record(session, motion, target)
    if target is Status.QUEUED and motion.reused_from is None:
        nudges.ask_dispatch(session, checked=motion.preflight_at is not None)
    if target in FINAL and motion.reused_from is None:
        _settle_followers(session, motion, target)
    return event


def admit(session, requests: list[dict], source: Source) -> list[Motion]:
    """New motions enter the state machine at queued (see `admit_values`), returned in the session as if loaded."""
    return [_loaded(session, values) for values in admit_values(session, requests, source)]


def admit_values(session, requests: list[dict], source: Source) -> list[dict]:
    """New motions enter the state machine at queued, written with their first history rows at once.

    The way in for plain new motions (`requests`: each one's attribute values; nothing to reuse, no
    external_id race to lose): no unit-of-work flush, one INSERT for all of them and their history on
    PostgreSQL (two elsewhere). Returns each one's attribute values as its row got them (no ORM object:
    a batch only answers them). Reaching queued tells callers nothing (no notification event), so the
    only follow-up is the dispatch and pre-flight nudge.
    """
    if not requests:
        return []
    source = _known(source)
    if not can_move(None, Status.QUEUED, source):
        raise IllegalTransition(f"a new motion cannot enter from source {source}", to_status=str(Status.QUEUED))
    now = utcnow()
    entry = {"status": Status.QUEUED, "created_at": now, "updated_at": now}  # alike for every motion admitted here
    _insert_with_history(session, [_row(values) for values in requests], _row(entry), source)
    nudges.ask_dispatch(session, checked=False)
    return [{**_DEFAULT_OF, **values, **entry} for values in requests]


def complete_from(session, motion: Motion, root: Motion) -> None:
    """Complete a queued motion with an identical root's result: through processing, as usual, source reuse."""
    reuse.take_result(motion, root)
    transition(session, motion, Status.PROCESSING, Source.REUSE, {"reused_from": root.id})
    transition(session, motion, Status.COMPLETED, Source.REUSE, {"reused_from": root.id})


def _settle_followers(session, leader: Motion, target: Status) -> None:
    """Followers end as their leader ends; a cancelled leader lets them be submitted themselves."""
    for follower in reuse.followers(session, leader):
        if target is Status.COMPLETED:
            complete_from(session, follower, leader)
        elif target is Status.FAILED:
            follower.error, follower.credits = leader.error, 0
            detail = {"reused_from": leader.id, "error": leader.error}
            transition(session, follower, Status.FAILED, Source.REUSE, detail)
        else:
            follower.reused_from = None
            nudges.ask_dispatch(session, checked=follower.preflight_at is not None)


_MOTIONS, _HISTORY = Motion.__table__, MotionEvent.__table__
_HISTORY_COLUMNS = ("motion_id", "at", "from_status", "to_status", "source")
_COLUMN_OF = {attr.key: attr.columns[0].key for attr in Motion.__mapper__.column_attrs}


_DEFAULT_OF = {
    attr.key: attr.columns[0].default.arg if attr.columns[0].default is not None else None
    for attr in Motion.__mapper__.column_attrs
    if attr.columns[0].default is None or attr.columns[0].default.is_scalar
}


def _row(values: dict) -> dict:
    """A motion's attribute values as its row's columns (a column not given gets its default, or NULL)."""
    return {_COLUMN_OF[key]: value for key, value in values.items()}


def _loaded(session, values: dict) -> Motion:
    """The motion just written (every attribute's value), in the session as if loaded: no history."""
    motion = Motion()
    vars(motion).update(values)  # a transient object's own dict: no attribute events
    make_transient_to_detached(motion)
    session.add(motion)
    return motion


def _insert_with_history(session, rows: list[dict], shared: dict, source: Source) -> None:
    """INSERT the motions (each row's own columns, and the `shared` ones alike for all) with a history row each.

    The history row is `None -> queued` at the motions' created_at. One statement on PostgreSQL, two elsewhere.
    """
    history = {"h_at": shared["created_at"], "h_to": Status.QUEUED, "h_source": source}
    if not _on_postgresql(session):
        session.execute(insert(_MOTIONS), [{**row, **shared} for row in rows])  # executemany: rows sent together
        event = (history["h_at"], None, Status.QUEUED, source)
        events = [dict(zip(_HISTORY_COLUMNS, (row["id"], *event), strict=True)) for row in rows]
        session.execute(insert(_HISTORY), events)
    elif len(rows) == 1:
        params = {f"m_{column}": value for column, value in {**rows[0], **shared}.items()}
        session.execute(_insert_one((*rows[0], *shared)), {**params, **history})
    else:
        # One array per column (one value for a shared column): PostgreSQL runs a single INSERT, not one per row.
        params = {f"m_{column}": [row[column] for row in rows] for column in rows[0]}
        params.update({f"m_{column}": value for column, value in shared.items()})
        session.execute(_insert_many(tuple(rows[0]), tuple(shared)), {**params, **history})


def _on_postgresql(session) -> bool:
    """Whether the session writes to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


@functools.lru_cache(maxsize=16)
def _insert_one(columns: tuple[str, ...]):
    """A motion and its history row in one INSERT (a CTE; SQLite has no INSERT inside WITH), built once."""
    new = insert(_MOTIONS).values({column: bindparam(f"m_{column}") for column in columns})
    return _with_history(new.returning(_MOTIONS.c.id).cte("new_motion"))


@functools.lru_cache(maxsize=16)
def _insert_many(columns: tuple[str, ...], shared: tuple[str, ...]):
    """Motions and their history rows in one INSERT, each column's values one array (PostgreSQL), built once.

    Several set-returning functions in one SELECT list advance together: row i takes every array's item i.
    A `shared` column is one value, the same in every row.
    """
    arrays = [func.unnest(bindparam(f"m_{column}", type_=ARRAY(_element_type(column)))) for column in columns]
    alike = [bindparam(f"m_{column}", type_=_MOTIONS.c[column].type) for column in shared]
    new = insert(_MOTIONS).from_select([*columns, *shared], select(*arrays, *alike))
    return _with_history(new.returning(_MOTIONS.c.id).cte("new_motions"))


def _element_type(column: str):
    """The column's type for its array, text without a length: a cast to varchar(n)[] would cut longer text silently.

    Unbounded, each value is checked against the column's length when stored, as in a plain INSERT.
    """
    type_ = _MOTIONS.c[column].type
    return String() if isinstance(type_, String) else type_


def _with_history(new):
    """INSERT a `None -> queued` history row for each motion the CTE `new` inserted."""
    history = select(new.c.id, bindparam("h_at", type_=UTCDateTime()), null(), bindparam("h_to"), bindparam("h_source"))
    return insert(_HISTORY).from_select(_HISTORY_COLUMNS, history).add_cte(new)


def _known(source: Source | str) -> Source:
    """The Source a value names; ValueError for anything else (a typo must not reach the history)."""
    try:
        return Source(source)
    except ValueError:
        raise ValueError(f"unknown source {source!r}") from None


def _stamp(motion: Motion, target: Status, now, current: Status | None) -> None:
    """Set the timestamps and fields that belong to reaching a status."""
    if target is Status.PROCESSING:
        motion.submitted_at = now
    elif target in (Status.COMPLETED, Status.FAILED, Status.CANCELLED):
        motion.completed_at = now
    elif target is Status.QUEUED and current is None:  # a new motion: created at the moment it entered
        motion.created_at = now
    elif target is Status.QUEUED:  # a retry forgets the previous submission
        _reset_submission(motion)


def _reset_submission(motion: Motion) -> None:
    """Reaching queued means a fresh submission: forget the previous one, its pre-flight and its charge day.

    The credits stay: the fresh POST is charged again when accepted, adding the model's cost (app.domain.charges).
    """
    motion.completed_at = motion.error = motion.jogg_motion_id = motion.avatar_id = motion.preview_url = None
    motion.dispatched_at = motion.submit_started_at = motion.submission_uncertain_at = None
    motion.submission_evidence = motion.preflight_at = motion.charged_at = None
    motion.next_submit_at = motion.next_poll_at = None
    motion.submit_attempts = motion.poll_count = 0
    if motion.reused_from is not None and motion.credits == 0:
        motion.reused_from = motion.credits = None  # a retried follower is submitted itself
