"""`flask motions ...`: looking at one motion and acting on it, as an operator."""

import click
from flask.cli import AppGroup

from app.cli.output import emit, run_action
from app.domain import interventions

motions_cli = AppGroup("motions", help="Look at and act on one motion, as an operator.")


@motions_cli.command("show")
@click.argument("motion_id")
def show(motion_id: str) -> None:
    """Print a motion with its status history, callback deliveries and JoggAI webhook events."""
    emit(run_action(interventions.show, motion_id))


@motions_cli.command("requeue")
@click.argument("motion_id")
@click.option("--reason", default="requeued by an operator", show_default=True, help="Recorded with the change.")
def requeue(motion_id: str, reason: str) -> None:
    """Put a failed motion back in the queue, or release a queued one whose submission is in doubt."""
    motion = run_action(interventions.requeue, motion_id, reason)
    emit({"motion_id": motion.id, "status": motion.status})


@motions_cli.command("fail")
@click.argument("motion_id")
@click.option("--reason", required=True, help="Why; the caller sees it as the error message.")
def fail(motion_id: str, reason: str) -> None:
    """Fail a queued or processing motion (error code failed_by_operator)."""
    motion = run_action(interventions.fail, motion_id, reason)
    emit({"motion_id": motion.id, "status": motion.status, "error": motion.error})
