"""Engine tuning per database (SQLite pragmas, fresh pools after a fork) and the one transaction boundary."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session


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
    """The one transaction boundary: commit what the block did, or roll all of it back if it raised."""
    from app.extensions import db

    session = session if session is not None else db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
