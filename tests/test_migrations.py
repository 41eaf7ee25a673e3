"""The migrations build exactly the schema the models describe, and can be undone."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

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
        assert {"callers", "motions", "motion_events", "idempotency_keys", "outbox"} <= set(
            inspect(db.engine).get_table_names()
        )
        downgrade(directory="migrations", revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory="migrations")
        assert _diff(db.engine) == []
