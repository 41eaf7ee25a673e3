"""Sending a callback: one attempt from the URL's turn to the recorded answer, then what waits for that URL.

One sender per URL at a time (`UrlTurn`), so a slow URL holds up only itself. Whoever holds a URL's turn
also sends the deliveries other jobs left waiting for it (up to DRAIN_LIMIT, within DRAIN_SECONDS), so a
busy URL gets its callbacks back to back instead of each waiting for a retry tick.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
import requests
from sqlalchemy.orm import Session

from app import metrics
from app.database import commit_step
from app.models.types import utcnow
from app.notifications import delivery
from app.notifications.url_turns import UrlTurn

log = logging.getLogger(__name__)

DRAIN_LIMIT, DRAIN_SECONDS = 200, 30.0


@dataclass(frozen=True)
class Sender:
    """What an attempt needs: the job's session, Redis (for the URL's turn), HTTP, and the settings it reads."""

    session: Session
    connection: redis.Redis
    http: requests.Session
    allowed: tuple[str, ...]  # CALLBACK_ALLOWED_NETWORKS
    schedule: tuple[int, ...]  # CALLBACK_RETRY_SCHEDULE


def send(sender: Sender, delivery_id: int) -> str:
    """Make one attempt at a delivery under its URL's turn, then send what waits for that URL; returns the outcome."""
    url = delivery.due_url(sender.session, delivery_id, utcnow())
    if url is None:
        return "skipped: not pending or not due"
    turn = UrlTurn(sender.connection, url)
    if not turn.take(delivery_id):
        return delivery.defer(sender.session, delivery_id, utcnow())
    try:  # checked again under the turn: the URL's last sender may have sent this one meanwhile
        outcome = attempt(sender, delivery_id)
        drain(sender, turn, time.monotonic() + DRAIN_SECONDS)
    finally:
        turn.release()
    return outcome


def attempt(sender: Sender, delivery_id: int, early: float = 0.0) -> str:
    """Check, sign, POST and record one delivery due within `early` seconds (the caller holds its URL's turn)."""
    session = sender.session
    prepared = delivery.prepare(session, delivery_id, sender.allowed, utcnow(), early=timedelta(seconds=early))
    commit_step(session)  # step: no transaction stays open during the POST (a refusal found by prepare is kept)
    if isinstance(prepared, str):
        return prepared
    answer = delivery.post(sender.http, prepared)
    outcome = delivery.record(session, prepared.delivery_id, answer, sender.schedule, utcnow())
    commit_step(session)  # step: each attempt is recorded before the next POST to this URL
    metrics.DELIVERIES.labels(outcome, str(delivery.attempt_number(session, prepared.delivery_id))).inc()
    log.info("delivery %s: %s", prepared.delivery_id, outcome, extra={"delivery_id": prepared.delivery_id})
    return outcome


def drain(sender: Sender, turn: UrlTurn, deadline: float) -> None:
    """Send what waits for this URL while holding its turn (a deferred delivery may go up to 1 s early).

    What is left when the limit or the deadline is reached is sent by the clock once its deferral ends.
    """
    for _ in range(DRAIN_LIMIT):
        waiting = turn.next_waiting() if time.monotonic() < deadline else None
        if waiting is None:
            return
        turn.renew()
        attempt(sender, waiting, early=delivery.DEFER_SECONDS)
