"""Engine tuning per database: SQLite needs foreign keys, WAL and a busy timeout; forks need fresh pools."""

import os

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
