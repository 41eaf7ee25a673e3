"""`flask reconcile`: one self-healing sweep on demand, as the clock runs it."""

import click
from flask.cli import with_appcontext

from app import jobs
from app.cli.output import emit
from app.extensions import db


@click.command("reconcile")
@with_appcontext
def reconcile() -> None:
    """Run one self-healing sweep now and enqueue every poll that is due."""
    recovered = jobs.sweep()
    polls = jobs.enqueue_due_polls()
    db.session.remove()
    emit({"recovered": recovered, "polls_enqueued": polls})
