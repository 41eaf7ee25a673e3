"""Nudges: the jobs a transaction asks for, sent by `app.jobs.send_nudges` only once it commits.

A domain function that leaves work in SQL (a queued motion, a received webhook event, a due delivery)
asks for the job that does it here; nothing is sent for a transaction that rolls back (STYLE rule 8:
enqueue after commit, pass ids). The rows themselves are the durable record of the work: a nudge lost
with Redis only delays it until the clock or the sweep finds the rows.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import Delivery

DISPATCH = "dispatch"  # hand free POST slots to queued motions (app.jobs.dispatch_now)
EVENTS = "jogg_events"  # process stored JoggAI webhook events (app.jobs.process_jogg_events)
PREFLIGHT = "preflight"  # check queued motions' images and voices before a POST (app.jobs.preflight_motions)
_NAMES, _DELIVERIES = "nudges", "nudged_deliveries"


def ask(session: Session, name: str) -> None:
    """Ask for the `name` job (DISPATCH, EVENTS or PREFLIGHT) once this transaction commits."""
    session.info.setdefault(_NAMES, set()).add(name)


def ask_dispatch(session: Session) -> None:
    """A motion reached queued: ask for its pre-flight and a dispatch once committed (the clock covers for both).

    The pre-flight nudge is dropped after the commit when PREFLIGHT is off (app.jobs.send_nudges).
    """
    ask(session, PREFLIGHT)
    ask(session, DISPATCH)


def ask_events(session: Session) -> None:
    """Ask for the stored JoggAI webhook events to be processed once committed."""
    ask(session, EVENTS)


def ask_deliveries(session: Session, delivery_ids: list[int]) -> None:
    """Ask for a callback job for each of these existing deliveries once committed."""
    session.info.setdefault(_DELIVERIES, []).extend(delivery_ids)


def asked(session: Session) -> set[str]:
    """The nudge names this transaction has asked for so far."""
    return set(session.info.get(_NAMES, ()))


def take(session: Session) -> tuple[set[str], list[int]]:
    """What a committed transaction asked for (nudge names, delivery ids), cleared from the session."""
    return session.info.pop(_NAMES, set()), session.info.pop(_DELIVERIES, [])


@event.listens_for(Session, "after_flush")
def _ask_for_new_deliveries(session: Session, _flush_context) -> None:
    """Every new delivery row asks for its callback job (they are added by `domain.notification_events.record`)."""
    ask_deliveries(session, [obj.id for obj in session.new if isinstance(obj, Delivery)])


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    """Rolled-back rows are not work."""
    take(session)
