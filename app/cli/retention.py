"""`flask retention purge`: deleting what is past its keeping time."""

import logging
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app.cli.output import emit
from app.database import commit_step, unit_of_work
from app.domain import retention
from app.models.types import utcnow

log = logging.getLogger(__name__)

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
            counts = purge_all(session, age, batch_size=batch_size, now=now)
    emit({"older_than": older_than, "cutoff": (now - age).isoformat(), "dry_run": dry_run, "counts": counts})


def purge_all(session: Session, older_than: timedelta, batch_size: int = 1000, now: datetime | None = None) -> dict:
    """Delete what is past retention, one committed batch at a time; returns rows deleted per table.

    Finished motions go batch_size at a time, each together with its children in one transaction
    (so a batch may hold more than batch_size rows); every other table goes batch_size rows at a time.
    """
    now = now or utcnow()
    cutoff, counts = now - older_than, retention.new_counts()
    for purge_batch in (retention.purge_motion_batch, retention.purge_expired_batch):
        more = True
        while more:
            more = purge_batch(session, cutoff, now, batch_size, counts)
            commit_step(session)  # step: a long backlog holds its locks and undo log a batch at a time, not all at once
    log.info("retention purge older than %s: %s", older_than, counts)
    return counts


def _age(text: str) -> timedelta:
    """--older-than as a timedelta, or a usage error."""
    try:
        return retention.parse_age(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
