"""Charging a motion its credits: once JoggAI accepted its POST or may have (in doubt), once per motion.

JoggAI deducts credits when it accepts an add-motion request; a POST it refused (an error answer) was not
accepted, so it costs nothing and charges nothing here. A POST whose answer was lost may have been accepted, so
it is charged: the ledger may then count a credit JoggAI did not take, never miss one it did.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import nudges
from app.domain.credits import cost
from app.models import Caller, Motion
from app.models.types import utcnow


def charge(session: Session, motion: Motion, costs: dict[str, int]) -> bool:
    """Add the model's cost to the motion's credits and set its charge time, once per POST (the caller commits).

    A motion retried from failed had its charge time cleared (app.domain.transitions), so its new POST adds
    its cost again to the credits already spent. True if charged now.
    """
    if motion.charged_at is not None or not costs:
        return False
    spent = cost(costs, motion.model)
    motion.credits = (motion.credits or 0) + spent
    motion.charged_at = utcnow()
    with session.no_autoflush:  # the name needs no flush: the motion's changes go out with its next UPDATE
        caller = session.scalar(select(Caller.name).where(Caller.id == motion.caller_id))
    nudges.ask_charge_counted(session, caller or str(motion.caller_id), motion.model, spent)  # counted once committed
    return True
