"""The migrations build exactly the schema the models describe, and can be undone."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db


def _diff(engine):
    """Autogenerate's list of differences between the database and the models."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_database_matches_the_models(app, engine):
    """After `db upgrade` on an empty database, autogenerate finds nothing to add."""
    assert _diff(engine) == []


def test_upgrade_and_downgrade_round_trip(settings, tmp_path):
    """A fresh database can be upgraded, downgraded to nothing, and upgraded again."""
    app = create_app(settings.with_overrides(database_url=f"sqlite:///{tmp_path}/roundtrip.db"))
    with app.app_context():
        upgrade(directory="migrations")
        tables = set(inspect(db.engine).get_table_names())
        assert {"callers", "motions", "motion_events", "idempotency_keys"} <= tables and "outbox" not in tables
        downgrade(directory="migrations", revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory="migrations")
        assert _diff(db.engine) == []


def _outbox_rows(app, kinds: list[str]) -> None:
    """Upgrade to 0006 and leave undone outbox rows of these kinds, as an older version could have."""
    with app.app_context():
        upgrade(directory="migrations", revision="0006")
        with db.engine.begin() as conn:
            for kind in kinds:
                conn.execute(
                    text("INSERT INTO outbox (kind, created_at, due_at, attempts) VALUES (:kind, :at, :at, 0)"),
                    {"kind": kind, "at": "2026-11-01 00:00:00+00:00"},
                )


def test_the_outbox_is_drained_and_dropped(settings, tmp_path):
    """Undone rows of the two old kinds (their work lives in its own rows now) are discarded with the table."""
    app = create_app(settings.with_overrides(database_url=f"sqlite:///{tmp_path}/drain.db"))
    _outbox_rows(app, ["dispatch", "jogg_event", "dispatch"])
    with app.app_context():
        upgrade(directory="migrations")
        assert "outbox" not in inspect(db.engine).get_table_names()
        assert _diff(db.engine) == []


def test_an_outbox_row_of_an_unknown_kind_stops_the_upgrade(settings, tmp_path, capfd):
    """Work of a kind nobody does any more is not dropped silently: the upgrade fails and names it."""
    app = create_app(settings.with_overrides(database_url=f"sqlite:///{tmp_path}/unknown.db"))
    _outbox_rows(app, ["jogg_event", "resize_image"])
    with app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits, as `flask db upgrade` would
            upgrade(directory="migrations")
        assert "resize_image" in capfd.readouterr().err
        assert "outbox" in inspect(db.engine).get_table_names()
