"""Nudges: the jobs a transaction asks for, sent by `app.database.commit_step` only once it commits.

A domain function that leaves work in SQL (a queued motion, a received webhook event, a new delivery)
asks for the job that does it here; nothing is sent for a transaction that rolls back (STYLE rule 8:
enqueue after commit, pass ids). The asks are kept with the transaction that made them: a rollback,
wherever it happens, leaves them with a finished transaction, and they are dropped. The rows themselves
are the durable record of the work: a nudge lost with Redis only delays it until the clock or the sweep
finds the rows. The credits a transaction charged are counted on /metrics the same way: once it commits.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, SessionTransaction, scoped_session

DISPATCH = "dispatch"  # hand free POST slots to queued motions (app.jobs.dispatch_now)
EVENTS = "jogg_events"  # process stored JoggAI webhook events (app.jobs.process_jogg_events)
PREFLIGHT = "preflight"  # check queued motions' images and voices before a POST (app.jobs.preflight_motions)
UNCHECKED = "unchecked"  # motions not checked yet: PREFLIGHT, or DISPATCH with it off (app.jobs.send_nudges)
SENDER = "nudge_sender"  # app.extensions key: the function that enqueues them (app.jobs.send_nudges, set at start)
_ASKED = "nudges"

Sender = Callable[[set[str], list[int]], None]


@dataclass
class Asked:
    """What one transaction asked for: nudge names and delivery ids."""

    transaction: SessionTransaction
    names: set[str] = field(default_factory=set)
    delivery_ids: list[int] = field(default_factory=list)
    charges: list[tuple[str, str, int]] = field(default_factory=list)  # (caller, model, credits) for /metrics


def open_transaction(session: Session | scoped_session) -> SessionTransaction | None:
    """The session's open (outermost) transaction, if any (`db.session` is a scoped session: its current one)."""
    return (session() if isinstance(session, scoped_session) else session).get_transaction()


def _current(session: Session) -> Asked:
    """The asks of the session's open transaction (one is begun if none is: the asks belong to it)."""
    transaction = open_transaction(session) or session.begin()
    asked_now = session.info.get(_ASKED)
    if asked_now is None or asked_now.transaction is not transaction:
        asked_now = session.info[_ASKED] = Asked(transaction)
    return asked_now


def ask(session: Session, name: str) -> None:
    """Ask for the `name` job (DISPATCH, EVENTS, PREFLIGHT or UNCHECKED) once this transaction commits."""
    _current(session).names.add(name)


def ask_dispatch(session: Session, checked: bool) -> None:
    """A motion reached queued: ask for a dispatch once committed, or for one not checked yet, its pre-flight.

    The ask for a check turns into a dispatch's when PREFLIGHT is off (app.jobs.send_nudges). With it on, the
    pre-flight job dispatches what it passes: a dispatch asked for meanwhile would find nothing to hand out, and
    while motions pour in those nudged dispatches kept a worker from the submissions. The clock covers for both.
    """
    ask(session, DISPATCH if checked else UNCHECKED)


def ask_events(session: Session) -> None:
    """Ask for the stored JoggAI webhook events to be processed once committed."""
    ask(session, EVENTS)


def ask_deliveries(session: Session, delivery_ids: list[int]) -> None:
    """Ask for a callback job for each of these existing (flushed) deliveries once committed."""
    _current(session).delivery_ids.extend(delivery_ids)


def ask_charge_counted(session: Session, caller: str, model: str, credits: int) -> None:
    """Count a charge in motion_gateway_credits_spent_total once this transaction commits (a rollback counts none)."""
    _current(session).charges.append((caller, model, credits))


def asked(session: Session) -> set[str]:
    """The nudge names the open transaction has asked for so far (none once it rolled back)."""
    asked_now = session.info.get(_ASKED)
    if asked_now is None or asked_now.transaction is not open_transaction(session):
        return set()
    return set(asked_now.names)


def take(
    session: Session, committed: SessionTransaction | None
) -> tuple[set[str], list[int], list[tuple[str, str, int]]]:
    """What the `committed` transaction asked for (nudge names, delivery ids, charges), cleared from the session.

    Asks left by any other (rolled-back) transaction are dropped: they were never work.
    """
    asked_then = session.info.pop(_ASKED, None)
    if asked_then is None or committed is None or asked_then.transaction is not committed:
        return set(), [], []
    return asked_then.names, asked_then.delivery_ids, asked_then.charges
