"""Engine tuning per database (SQLite pragmas, fresh pools after a fork) and the one transaction boundary."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app import metrics, nudges
from app.extensions import db


def configure_engine(engine: Engine) -> None:
    """Apply per-dialect connection settings and make forked children open their own connections."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def _tune_sqlite(dbapi_connection, _record) -> None:
    """Enforce foreign keys and let concurrent processes wait for each other instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """The one transaction boundary: commit what the block did and send the jobs it asked for, or roll all back."""
    session = session if session is not None else db.session
    try:
        yield session
        commit_step(session)
    except BaseException:
        session.rollback()  # what the transaction asked for (app.nudges) stays with it: nothing is sent
        raise


def commit_step(session: Session) -> None:
    """Commit, then send the jobs this transaction asked for (app.nudges): a job is enqueued only once committed.

    The boundary's commit, and each named mid-workflow step (`# step:` comments, listed in docs/architecture.md).
    """
    committed = nudges.open_transaction(session)
    session.commit()
    send_nudges(session, committed)


def send_nudges(session: Session, committed) -> None:
    """Count the committed transaction's charges, and hand the jobs it asked for to the app's sender (app.jobs)."""
    names, delivery_ids, charges = nudges.take(session, committed)
    for caller, model, credits in charges:
        metrics.CREDITS_SPENT.labels(caller, model).inc(credits)
    if (names or delivery_ids) and has_app_context():
        current_app.extensions[nudges.SENDER](names, delivery_ids)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint for an insert that may lose a race: the loser undoes only the block, not the caller's transaction."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        # pysqlite begins a transaction only at the first write, and a savepoint outside one commits on release
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    with session.begin_nested():
        yield


def reads_without_transaction(session: Session | None = None) -> None:
    """Let what follows run without a transaction, each statement on its own: no BEGIN and no ROLLBACK round trip.

    For work that only reads (a GET): each statement sees what was committed when it began, as every statement of
    PostgreSQL's default READ COMMITTED transaction does. The connection goes back to the pool with its isolation
    level as configured. Call it before anything else in the session's transaction.
    """
    (session if session is not None else db.session).connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def end_reads(session: Session) -> None:
    """End a transaction that only read, before an HTTP call or a wait: no transaction stays open over it."""
    session.rollback()
