"""Clock task and job for submissions in doubt: flag interrupted ones, look for evidence, apply the policy."""

import logging

from flask import current_app

from app import queues, services
from app.domain import doubt
from app.extensions import db
from app.models.types import utcnow
from workers.jobs import traced

log = logging.getLogger(__name__)


def watch_submissions() -> int:
    """Clock task: flag interrupted submissions within seconds; hand motions in doubt due a look to a job."""
    from workers.sweep import flag_interrupted_submissions

    connection = current_app.extensions["redis"]
    flagged = flag_interrupted_submissions(db.session, connection)
    if doubt.due(db.session, utcnow()):
        queues.enqueue_unique(connection, queues.DEFAULT, "workers.doubt.resolve_doubts", "resolve-doubts")
    db.session.rollback()
    return flagged


@traced
def resolve_doubts() -> dict:
    """Look for evidence for each motion in doubt that is due a look, and apply the policy (app.domain.doubt)."""
    settings = current_app.config["SETTINGS"]
    policy = doubt.DoubtPolicy(
        settings.uncertain_policy, settings.uncertain_grace, settings.submit_max_attempts, settings.poll_intervals
    )
    outcomes: dict[str, int] = {}
    for motion_id in doubt.due(db.session, utcnow()):
        outcome = doubt.resolve(db.session, motion_id, services.jogg_client(), policy)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        log.info("motion in doubt %s: %s", motion_id, outcome, extra={"motion_id": motion_id})
    return outcomes
