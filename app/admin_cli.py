"""Operator commands under `flask`: one motion (show, requeue, fail), retention purges, JoggAI account status."""

from datetime import timedelta

import click
from flask.cli import AppGroup, with_appcontext

from app import services
from app.cli import _emit, _run
from app.domain import account as accounts
from app.domain import operator, retention
from app.extensions import db
from app.jogg import BadCredentials, JoggError
from app.models.types import utcnow

motions_cli = AppGroup("motions", help="Look at and act on one motion, as an operator.")
retention_cli = AppGroup("retention", help="Delete what is past its keeping time.")


@motions_cli.command("show")
@click.argument("motion_id")
def show(motion_id: str) -> None:
    """Print a motion with its status history, callback deliveries and JoggAI webhook events."""
    _emit(_run(operator.show, motion_id))


@motions_cli.command("requeue")
@click.argument("motion_id")
@click.option("--reason", default="requeued by an operator", show_default=True, help="Recorded with the change.")
def requeue(motion_id: str, reason: str) -> None:
    """Put a failed motion back in the queue, or release a queued one whose submission is in doubt."""
    motion = _run(operator.requeue, motion_id, reason)
    _emit({"motion_id": motion.id, "status": motion.status})


@motions_cli.command("fail")
@click.argument("motion_id")
@click.option("--reason", required=True, help="Why; the caller sees it as the error message.")
def fail(motion_id: str, reason: str) -> None:
    """Fail a queued or processing motion (error code failed_by_operator)."""
    motion = _run(operator.fail, motion_id, reason)
    _emit({"motion_id": motion.id, "status": motion.status, "error": motion.error})


@retention_cli.command("purge")
@click.option("--older-than", "older_than", required=True, help="Age past which rows go: 90d, 12h, 30m or 45s.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1), help="Rows per transaction.")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
def purge(older_than: str, batch_size: int, dry_run: bool) -> None:
    """Delete finished motions (with their history), done outbox rows, idempotency keys, webhooks and attempts."""
    age = _age(older_than)
    now = utcnow()
    if dry_run:
        counts = retention.count(db.session, age, now=now)
    else:
        counts = retention.purge(db.session, age, batch_size=batch_size, now=now)
    _emit({"older_than": older_than, "cutoff": (now - age).isoformat(), "dry_run": dry_run, "counts": counts})


@click.command("status")
@with_appcontext
def jogg_status() -> None:
    """Check the JoggAI key, the credit left and the registered webhook endpoints (exit 1 unless the key works)."""
    client, status = services.jogg_client(), {"key_valid": None, "credit_left": None, "webhook_endpoints": None}
    try:
        status["credit_left"] = client.remaining_quota()
        status["key_valid"] = True
        status["webhook_endpoints"] = [_endpoint(endpoint) for endpoint in client.list_endpoints()]
    except BadCredentials:
        status["key_valid"] = False
    except JoggError as exc:  # scrubbed of the key by the client
        status["error"] = str(exc)
    account = accounts.peek(db.session)
    status["registered_endpoint_id"] = account.webhook_endpoint_id
    status["submissions"] = accounts.describe(account, utcnow())
    db.session.commit()
    _emit(status)
    if status["key_valid"] is not True or "error" in status:
        raise click.exceptions.Exit(1)


def _age(text: str) -> timedelta:
    """--older-than as a timedelta, or a usage error."""
    try:
        return retention.parse_age(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None


def _endpoint(endpoint) -> dict:
    """One webhook endpoint as JoggAI lists it, without the secret the list carries."""
    return {
        "endpoint_id": endpoint.endpoint_id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "status": endpoint.status,
    }
