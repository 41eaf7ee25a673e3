"""RQ job functions and periodic tasks; each takes ids, not objects, and is safe to run twice."""

import functools
import logging
import time
import uuid
from datetime import timedelta

from flask import current_app
from rq import get_current_job
from sqlalchemy import update

from app import logs, metrics, queues, services
from app.domain import dispatch as dispatcher
from app.domain import idempotency, jogg_events, outbox, submission, tracking
from app.extensions import db
from app.jogg import JoggError
from app.models import OutboxEntry
from app.models.types import utcnow
from app.notifications import delivery
from app.notifications.http import http_session
from app.notifications.url_turns import UrlTurn

log = logging.getLogger(__name__)

DRAIN_LIMIT, DRAIN_SECONDS = 200, 30.0
EVENTS_BATCH = 100
EVENTS_SECONDS = 1.0  # then the job hands over, so its worker can take submissions and callbacks in between
LEASE_MARGIN = 2.0  # seconds a claimed event's lease adds to the longest its processing can take


def traced(job_function):
    """Run a job with its job id, request id and motion id on every log line."""

    @functools.wraps(job_function)
    def run(*args):
        job = get_current_job()
        meta = job.meta if job else {}
        first = args[0] if args else None
        token = logs.bind(
            job_id=job and job.id,
            request_id=meta.get("request_id") or logs.new_request_id(),
            motion_id=first if isinstance(first, str) else None,
        )
        try:
            return job_function(*args)
        finally:
            logs.reset(token)

    return run


@traced
def run_outbox_entry(entry_id: int) -> None:
    """Do the work an outbox row asks for, then mark it done; a repeat finds it done and returns."""
    entry = db.session.get(OutboxEntry, entry_id, populate_existing=True)
    if entry is None or entry.done_at is not None:
        db.session.rollback()
        return
    kind, motion_id, payload = entry.kind, entry.motion_id, entry.payload or {}
    db.session.rollback()
    HANDLERS[kind](motion_id, payload)  # handlers are idempotent: a crash here leaves the row for the sweep
    db.session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.done_at.is_(None))
        .values(done_at=utcnow(), attempts=OutboxEntry.attempts + 1)
    )
    db.session.commit()
    job = get_current_job()
    log.info("outbox entry %s done", entry_id, extra={"job_id": job and job.id, "motion_id": motion_id, "kind": kind})


@traced
def submit_motion(motion_id: str) -> str:
    """Submit one dispatched motion to JoggAI (see app.domain.submission)."""
    outcome = submission.submit(
        db.session, motion_id, services.jogg_client(), services.post_budget(), services.submit_policy()
    )
    metrics.SUBMISSIONS.labels(outcome).inc()
    job = get_current_job()
    log.info("submit %s: %s", motion_id, outcome, extra={"job_id": job and job.id, "motion_id": motion_id})
    return outcome


@traced
def dispatch_now() -> list[str]:
    """A nudged dispatch: new motions ask for one so they need not wait for the clock's next tick.

    With the budget spent, the nudge's hold is left to run out (1 s), so a stream of new motions does
    not keep a worker dispatching for nothing; the clock hands out the slots as they free.
    """
    if services.post_budget().next_free_in() > current_app.config["SETTINGS"].dispatch_interval:
        return []
    queues.clear_nudge(current_app.extensions["redis"], outbox.NUDGE_DISPATCH)
    return dispatch()


def dispatch(_motion_id: str | None = None, _payload: dict | None = None) -> list[str]:
    """Hand free POST slots to queued motions and enqueue their submit jobs after the commit.

    A slot that frees before the next pass is due is waited for here, so it is used at once.
    """
    budget = services.post_budget()
    free, wait = budget.slots()
    if not free:
        if wait > current_app.config["SETTINGS"].dispatch_interval:
            return []
        time.sleep(wait)
        free = budget.free_slots()
        if not free:
            return []
    picked = dispatcher.dispatch(db.session, free, utcnow())
    db.session.commit()
    queues.enqueue_submissions(current_app.extensions["redis"], picked)
    return picked


def process_jogg_event(_motion_id: str | None, _payload: dict) -> str:
    """An older version's outbox row for one webhook event: the event row is the work now, so nudge its processing."""
    queues.nudge(current_app.extensions["redis"], outbox.NUDGE_EVENTS)
    return "nudged"


@traced
def process_jogg_events() -> int:
    """Apply the stored JoggAI webhook events, oldest first, until none is left; several may run side by side.

    Each event is claimed for this job with a lease (`jogg_events.claim`) and settled under that claim,
    so no two jobs check the same event. The claim is a committed lease rather than a row lock held
    across the status check: no transaction stays open over an HTTP call, and a killed job's claims
    simply run out (`event_lease`), after which the sweep nudges again. Events that need no call to
    JoggAI (unknown motion id: parked) are settled in one commit per batch. After EVENTS_SECONDS the
    job gives back what it has not started and hands over to a fresh one, so a burst never keeps its
    worker from the submissions and callbacks; an event whose status check fails is given back too and
    left to the sweep.
    """
    connection = current_app.extensions["redis"]
    queues.clear_nudge(connection, outbox.NUDGE_EVENTS)
    settings = current_app.config["SETTINGS"]
    owner, deadline, done = uuid.uuid4().hex, time.monotonic() + EVENTS_SECONDS, 0
    try:
        while batch := jogg_events.claim(db.session, owner, EVENTS_BATCH, event_lease(settings)):
            done += _settle_batch(batch, owner, settings.poll_intervals, deadline)
            if time.monotonic() > deadline:
                break
    finally:
        jogg_events.release(db.session, owner)  # before any hand-over, so the next job finds them free
    if time.monotonic() > deadline:
        queues.nudge(connection, outbox.NUDGE_EVENTS)
    return done


def _settle_batch(batch: list, owner: str, intervals: tuple[int, ...], deadline: float) -> int:
    """Settle a claimed batch: what needs no JoggAI call in one commit, then the others one by one to the deadline."""
    settled = jogg_events.settle_locally(db.session, batch)
    remaining = [event.id for event in batch if event.id not in settled]
    db.session.commit()  # the claims of the remaining events, and the settled events
    done = len(settled)
    for event_pk in remaining:
        try:
            jogg_events.process(db.session, event_pk, owner, services.jogg_client(), intervals)
            done += 1
        except JoggError as exc:
            db.session.rollback()
            log.warning("JoggAI event %s: status check failed (%s); the sweep will retry it", event_pk, exc)
        if time.monotonic() > deadline:
            break
    return done


def event_lease(settings) -> timedelta:
    """How long a claim lasts: EVENTS_SECONDS, then one JoggAI call (the status check) at its slowest, a margin."""
    slowest_call = settings.jogg_connect_timeout + settings.jogg_read_timeout
    return timedelta(seconds=EVENTS_SECONDS + slowest_call + LEASE_MARGIN)


@traced
def poll_motion(motion_id: str) -> str:
    """Ask JoggAI for one motion's status and apply it (the fallback when no webhook came)."""
    intervals = current_app.config["SETTINGS"].poll_intervals
    outcome = tracking.poll(db.session, motion_id, services.jogg_client(), intervals)
    log.info("poll %s: %s", motion_id, outcome, extra={"motion_id": motion_id})
    return outcome


def enqueue_due_polls() -> int:
    """Clock task: enqueue a status check for every motion whose poll time has come."""
    due = tracking.due_polls(db.session)
    db.session.rollback()
    queues.enqueue_polls(current_app.extensions["redis"], due)
    return len(due)


@traced
def deliver(delivery_id: int) -> str:
    """Make one attempt at a callback; one sender per URL at a time, so a slow URL holds up only itself.

    Whoever holds a URL's turn also sends the deliveries other jobs left waiting for it (up to
    DRAIN_LIMIT, within DRAIN_SECONDS), so a busy URL gets its callbacks back to back instead of each
    waiting for a retry tick.
    """
    url = delivery.due_url(db.session, delivery_id, utcnow())
    if url is None:
        return "skipped: not pending or not due"
    turn = UrlTurn(current_app.extensions["redis"], url)
    if not turn.take(delivery_id):
        return delivery.defer(db.session, delivery_id, utcnow())
    try:  # checked again under the turn: the URL's last sender may have sent this one meanwhile
        prepared = _prepare_delivery(delivery_id)
        outcome = prepared if isinstance(prepared, str) else _attempt(prepared)
        _drain(turn, time.monotonic() + DRAIN_SECONDS)
    finally:
        turn.release()
    return outcome


def _prepare_delivery(delivery_id: int, early: float = 0.0) -> delivery.Prepared | str:
    """Check a delivery can go now (or within `early` seconds) and sign it."""
    allowed = current_app.config["SETTINGS"].callback_allowed_networks
    return delivery.prepare(db.session, delivery_id, allowed, utcnow(), early=timedelta(seconds=early))


def _attempt(prepared: delivery.Prepared) -> str:
    """POST one prepared delivery and record the attempt."""
    answer = delivery.post(http_session(), prepared)
    schedule = current_app.config["SETTINGS"].callback_retry_schedule
    outcome = delivery.record(db.session, prepared.delivery_id, answer, schedule, utcnow())
    metrics.DELIVERIES.labels(outcome, str(delivery.attempt_number(db.session, prepared.delivery_id))).inc()
    log.info("delivery %s: %s", prepared.delivery_id, outcome, extra={"delivery_id": prepared.delivery_id})
    return outcome


def _drain(turn: UrlTurn, deadline: float) -> None:
    """Send what waits for this URL while holding its turn (a deferred delivery may go up to 1 s early).

    What is left when the limit or the deadline is reached is sent by the clock once its deferral ends.
    """
    for _ in range(DRAIN_LIMIT):
        waiting = turn.next_waiting() if time.monotonic() < deadline else None
        if waiting is None:
            return
        prepared = _prepare_delivery(waiting, early=delivery.DEFER_SECONDS)
        if not isinstance(prepared, str):
            turn.renew()
            _attempt(prepared)


def enqueue_due_deliveries() -> int:
    """Clock task: enqueue every delivery whose next attempt has come (retries, and any lost job)."""
    due = delivery.due(db.session, utcnow())
    db.session.rollback()
    queues.enqueue_deliveries(current_app.extensions["redis"], due)
    return len(due)


def probe_account() -> str | None:
    """While submissions are paused, check on the account's schedule whether they can resume."""
    from app.domain.account_probe import probe

    return probe(db.session, services.jogg_client(), current_app.config["SETTINGS"].jogg_probe_interval)


def sweep() -> int:
    """One self-healing pass over SQL: lost outbox work and events, lost dispatches, stuck submissions, old keys."""
    from workers.sweep import nudge_waiting_events, recover_submissions, rematch_parked_events, requeue_stale_outbox

    settings = current_app.config["SETTINGS"]
    connection = current_app.extensions["redis"]
    requeued = requeue_stale_outbox(db.session, connection, settings.sweep_stale_after)
    waiting = nudge_waiting_events(db.session, connection, settings.sweep_stale_after)
    released = recover_submissions(db.session, settings.sweep_stale_after)
    unparked = rematch_parked_events(db.session)
    expired = tracking.expire_old(db.session, settings.motion_max_age)
    purged = idempotency.purge_expired(db.session)
    db.session.commit()
    metrics.SWEEPS.inc()
    recovered = {"outbox": requeued, "waiting_events": waiting, "submissions": released, "events": unparked,
                 "expired": expired}  # fmt: skip
    for kind, count in recovered.items():
        metrics.SWEEP_RECOVERED.labels(kind).inc(count)
    log.info(
        "sweep: %d outbox re-enqueued, %d waiting events nudged, %d submissions recovered, %d events unparked, "
        "%d expired, %d keys purged",
        requeued, waiting, released, unparked, expired, purged,
    )  # fmt: skip
    return sum(recovered.values())


HANDLERS = {outbox.DISPATCH: dispatch, outbox.JOGG_EVENT: process_jogg_event}
