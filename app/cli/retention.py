"""`flask retention purge`: deleting what is past its keeping time."""

from datetime import timedelta

import click
from flask.cli import AppGroup

from app.cli.output import emit
from app.database import unit_of_work
from app.domain import retention
from app.models.types import utcnow

retention_cli = AppGroup("retention", help="Delete what is past its keeping time.")


@retention_cli.command("purge")
@click.option("--older-than", "older_than", required=True, help="Age past which rows go: 90d, 12h, 30m or 45s.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1), help="Rows per transaction.")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
def purge(older_than: str, batch_size: int, dry_run: bool) -> None:
    """Delete finished motions (with their history), idempotency keys, webhooks and attempts."""
    age = _age(older_than)
    now = utcnow()
    with unit_of_work() as session:
        if dry_run:
            counts = retention.count(session, age, now=now)
        else:
            counts = retention.purge(session, age, batch_size=batch_size, now=now)
    emit({"older_than": older_than, "cutoff": (now - age).isoformat(), "dry_run": dry_run, "counts": counts})


def _age(text: str) -> timedelta:
    """--older-than as a timedelta, or a usage error."""
    try:
        return retention.parse_age(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
