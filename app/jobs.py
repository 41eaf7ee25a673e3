"""The background work: RQ jobs (registered with `@job`), the clock's timetable, and sending nudges after commit.

Each job takes ids, not objects, is safe to run twice, and owns its transaction (`queues.owns_transaction`);
the few commits inside a job are named steps, each with its reason (listed in docs/architecture.md).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import redis
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy.orm import Session

from app import jogg_connection, metrics, nudges, queues
from app.config import Settings
from app.database import commit_step, end_reads
from app.domain import account_probe, credit_forecast, doubt, idempotency, jogg_events, recovery, submission, tracking
from app.domain import dispatch as dispatcher
from app.domain import preflight as checks
from app.extensions import db
from app.models.types import utcnow
from app.notifications import delivery, sending
from app.notifications.http import http_session
from app.preflight import batch, claims, image
from app.preflight.voices import VoiceCatalog
from app.queues import CALLBACKS, DEFAULT, JOB_TIMEOUT, JOGG, job, owns_transaction

log = logging.getLogger(__name__)

RECORD_LOST_GRACE = timedelta(seconds=30)  # a submit job's list read and POST take at most 2 x (3 + 10) s
STUCK_SUBMISSION = timedelta(seconds=JOB_TIMEOUT * 2)  # the sweep's backstop: a submit job long past its timeout
PREFLIGHT_BATCH = 16  # motions one pre-flight job checks at once, an image download per thread
PREFLIGHT_AHEAD_MINUTES = 2  # each caller's next motions checked ahead of dispatch: two minutes of POST slots
POLLS = "polls"  # the motions with a poll job waiting (queues.mark_waiting)


@job(queue=JOGG)
def submit_motion(motion_id: str) -> str:
    """Submit one dispatched motion to JoggAI (see app.domain.submission)."""
    costs = current_app.config["SETTINGS"].jogg_credit_costs
    outcome = submission.submit(
        db.session,
        motion_id,
        jogg_connection.jogg_client(),
        jogg_connection.post_budget(),
        replace(jogg_connection.submit_policy(), credit_costs=costs),
        slot_wait=dispatcher.SLOT_WAIT,
    )
    metrics.SUBMISSIONS.labels(outcome).inc()
    log.info("submit %s: %s", motion_id, outcome, extra={"motion_id": motion_id})
    return outcome


@job(queue=DEFAULT)
def dispatch_now() -> list[str]:
    """A nudged dispatch: new motions ask for one so they need not wait for the clock's next tick.

    With the budget spent, the nudge's hold is left to run out (1 s), so a stream of new motions does
    not keep a worker dispatching for nothing; the clock hands out the slots as they free.
    """
    if jogg_connection.post_budget().next_free_in() > lead():
        return []
    queues.clear_nudge(current_app.extensions["redis"], nudges.DISPATCH)
    return hand_out_slots()


@owns_transaction
def dispatch() -> list[str]:
    """Clock task: hand free POST slots to queued motions and enqueue their submit jobs after the commit."""
    return hand_out_slots()


def hand_out_slots() -> list[str]:
    """Hand free POST slots to queued motions, commit, enqueue their submit jobs (the caller owns the transaction).

    Slots freeing within the lead count too: their submit jobs wait in a worker for the exact instant.
    """
    _, free, _ = jogg_connection.post_budget().state(lead())
    if not free:
        return []
    picked = dispatcher.dispatch(db.session, free, utcnow(), current_app.config["SETTINGS"].preflight)
    commit_step(db.session)  # step: enqueue after commit, so each submit job finds its motion dispatched
    enqueue_submissions(current_app.extensions["redis"], picked)
    return picked


def next_hand_out_in() -> float | None:
    """Seconds until the next POST slot comes within the lead: the clock dispatches again at that instant."""
    return jogg_connection.post_budget().next_within(lead())


def lead() -> float:
    """How far ahead of its freeing a POST slot is handed out (app.domain.dispatch.lead, from the shared lags)."""
    return dispatcher.lead(jogg_connection.post_budget().recent_lags())


def enqueue_submissions(connection: redis.Redis, motion_ids: list[str]) -> None:
    """One submit job per dispatched motion, on the JoggAI queue."""
    queues.enqueue_unique_many(connection, submit_motion, [(f"submit-{m}", (m,)) for m in motion_ids])


@job(queue=DEFAULT)
def preflight_motions() -> dict[str, int]:
    """A nudged job: check the next queued motions' voices and images before any takes a POST slot.

    One such job runs at a time (a lease in Redis), so a worker stays free for submissions and callbacks; it checks
    one batch, recording each verdict as it comes with no transaction open during the downloads, and hands the
    rest to a fresh job queued behind the waiting submissions.
    """
    connection, settings = current_app.extensions["redis"], current_app.config["SETTINGS"]
    runner = claims.take_runner(connection) if settings.preflight else None
    if runner is None:
        # Off, or another job is checking: the nudge stays held (at most NUDGE_HOLD_MS), so the commits meanwhile
        # do not queue a job each; the runner hands over to a fresh job when more waits, the clock covers the rest.
        return {}
    queues.clear_nudge(connection, nudges.PREFLIGHT)
    try:
        outcomes, claimed = check_batch(connection, settings, runner)
    finally:
        claims.give_back_runner(connection, runner)
    if claimed and preflight_due():  # more came while this job checked (their nudges found it busy): hand over
        queues.clear_nudge(connection, nudges.PREFLIGHT)  # a commit's nudge may hold it: the hand-over must not wait
        nudge(connection, nudges.PREFLIGHT)
    return outcomes


def check_batch(connection: redis.Redis, settings: Settings, runner: str) -> tuple[dict[str, int], int]:
    """Claim the next batch, check it, record verdicts as they come; returns the outcomes and how many it claimed."""
    lookahead = max(PREFLIGHT_BATCH, preflight_lookahead())
    candidates = {c.id: c for c in checks.next_unchecked(db.session, lookahead, PREFLIGHT_BATCH * 4)}
    end_reads(db.session)  # no transaction stays open while voices and images are fetched
    claimed = [candidates[m] for m in claims.claim(connection, candidates, PREFLIGHT_BATCH)]
    known = batch.voices_known(voice_catalog(), {c.voice_id for c in claimed})  # one read of the lists for the batch
    outcomes: dict[str, int] = {}
    unknown = [(c.id, checks.verdict_for(None, False, c.voice_id, "")) for c in claimed if known[c.voice_id] is False]
    record_verdicts(connection, unknown, outcomes)  # an unknown voice needs no download
    images = {c.id: c.image_url for c in claimed if known[c.voice_id] is not False}
    claims.extend_runner(connection, runner)  # the voice lists may have taken a while; the downloads take <= 10 s
    for finished in batch.image_groups(images, settings.image_allowed_networks):
        verdicts = [(m, checks.verdict_for(found, True, candidates[m].voice_id, settings.preflight_unreachable))
                    for m, found in finished]  # fmt: skip
        record_verdicts(connection, verdicts, outcomes)
    return outcomes, len(claimed)


def record_verdicts(connection: redis.Redis, verdicts: list[tuple[str, checks.Verdict]], outcomes: dict) -> None:
    """Record the verdicts that came together in one commit, and free their leases."""
    if not verdicts:
        return
    recorded = checks.apply(db.session, verdicts)
    commit_step(db.session)  # step: verdicts are kept as they come, so a passed motion is dispatched without waiting
    claims.release(connection, [motion_id for motion_id, _ in verdicts])
    for outcome in recorded:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        metrics.PREFLIGHT_CHECKS.labels(outcome).inc()
    if checks.PreflightOutcome.PASSED in recorded or checks.PreflightOutcome.WARNED in recorded:
        hand_out_slots()  # free slots go to the motions just passed now, not at the clock's next dispatch or a nudge's


def preflight_due() -> bool:
    """Whether some caller's next motions (PREFLIGHT_AHEAD_MINUTES of slots) still wait for pre-flight (a read)."""
    due = checks.next_unchecked(db.session, max(PREFLIGHT_BATCH, preflight_lookahead()), 1)
    end_reads(db.session)
    return bool(due)


def preflight_lookahead() -> int:
    """How many of each caller's next motions pre-flight keeps checked: PREFLIGHT_AHEAD_MINUTES of POST slots."""
    budget = jogg_connection.post_budget()
    return int(budget.size * PREFLIGHT_AHEAD_MINUTES * 60 / max(1, budget.window_seconds)) + 1


def voice_catalog() -> VoiceCatalog:
    """This app's voice catalog (lists shared through Redis, a copy kept in the process)."""
    extensions = current_app.extensions
    if "voice_catalog" not in extensions:
        settings = current_app.config["SETTINGS"]
        extensions["voice_catalog"] = VoiceCatalog(
            jogg_connection.jogg_client(), extensions["redis"], ttl=settings.voice_cache_seconds
        )
    return extensions["voice_catalog"]


@owns_transaction
def nudge_preflight() -> int:
    """Clock task: motions near their turn wait for pre-flight (a lost nudge, Redis forgot, a lease ran out): nudge."""
    if not current_app.config["SETTINGS"].preflight:
        return 0
    due = preflight_due()
    if due:
        nudge(current_app.extensions["redis"], nudges.PREFLIGHT)
    return int(due)


def warm_up() -> None:
    """At a worker's start: Pillow's readers loaded and the voice lists cached, so a first check needs only its image.

    The lists are read from JoggAI only when no process has cached them. A failure is logged, never fatal.
    """
    if not current_app.config["SETTINGS"].preflight:
        return
    try:
        image.warm()
        if not voice_catalog().warm():
            log.warning("pre-flight warm-up: JoggAI's voice lists could not be read; the first check reads them")
    except Exception:  # noqa: BLE001 - the worker serves jobs anyway; the first check does what was left undone
        log.exception("pre-flight warm-up failed")
    finally:
        end_reads(db.session)


@job(queue=DEFAULT)
def process_jogg_events() -> int:
    """A nudged job: settle the stored JoggAI webhook events (app.domain.jogg_events.work_off); hand over on time."""
    connection = current_app.extensions["redis"]
    queues.clear_nudge(connection, nudges.EVENTS)
    done, out_of_time = jogg_events.work_off(db.session, jogg_connection.jogg_client(), current_app.config["SETTINGS"])
    if out_of_time:
        nudge(connection, nudges.EVENTS)  # a fresh job takes the rest, after the queued submissions and callbacks
    return done


@job(queue=DEFAULT)
def poll_motion(motion_id: str) -> str:
    """Ask JoggAI for one motion's status and apply it, due or not (the clock now enqueues `poll_motions`)."""
    intervals = current_app.config["SETTINGS"].poll_intervals
    outcome = tracking.poll(db.session, motion_id, jogg_connection.jogg_client(), intervals)
    log.info("poll %s: %s", motion_id, outcome, extra={"motion_id": motion_id})
    return outcome


@job(queue=DEFAULT)
def poll_motions(motion_ids: list[str]) -> dict[str, int]:
    """Status checks for a batch of due motions, those still due held with a lease (app.domain.tracking)."""
    settings = current_app.config["SETTINGS"]
    held = tracking.take_due(db.session, motion_ids, tracking.poll_lease(settings))
    commit_step(db.session)  # step: the lease is committed, held while the status checks run with no transaction open
    queues.unmark_waiting(current_app.extensions["redis"], POLLS, motion_ids)  # the next tick may enqueue them again
    outcomes = tracking.poll_held(db.session, held, jogg_connection.jogg_client(), settings.poll_intervals)
    log.info("polls of %d motions (%d held): %s", len(motion_ids), len(held.motion_ids), outcomes)
    return outcomes


@owns_transaction
def enqueue_due_polls() -> int:
    """Clock task: enqueue status checks, in batches, for the due motions that have no poll job waiting."""
    due = tracking.due_polls(db.session)
    end_reads(db.session)
    connection, stale_after = current_app.extensions["redis"], current_app.config["SETTINGS"].sweep_stale_after
    fresh = queues.mark_waiting(connection, POLLS, due, int(stale_after * 1000))  # a lost job: due again after this
    queues.enqueue_many(connection, poll_motions, [(batch,) for batch in tracking.in_batches(fresh)])
    return len(fresh)


@job(queue=CALLBACKS)
def deliver(delivery_id: int) -> str:
    """Make one attempt at a callback, then send what waits for its URL (app.notifications.sending)."""
    settings = current_app.config["SETTINGS"]
    sender = sending.Sender(db.session, current_app.extensions["redis"], http_session(),
                            settings.callback_allowed_networks, settings.callback_retry_schedule)  # fmt: skip
    return sending.send(sender, delivery_id)


def enqueue_deliveries(connection: redis.Redis, delivery_ids: list[int]) -> None:
    """One callback job per due delivery, on the callbacks queue."""
    queues.enqueue_unique_many(connection, deliver, [(f"deliver-{d}", (d,)) for d in delivery_ids])


@owns_transaction
def enqueue_due_deliveries() -> int:
    """Clock task: enqueue every delivery whose next attempt has come (retries, and any lost job)."""
    due = delivery.due(db.session, utcnow())
    end_reads(db.session)
    enqueue_deliveries(current_app.extensions["redis"], due)
    return len(due)


@owns_transaction
def watch_submissions() -> int:
    """Clock task: flag interrupted submissions within seconds; hand motions in doubt due a look to a job."""
    connection = current_app.extensions["redis"]
    flagged = flag_interrupted_submissions(db.session, connection)
    due = doubt.due(db.session, utcnow())
    commit_step(db.session)  # step: enqueue after commit, so the job finds the motions just flagged
    if due:
        queues.enqueue_unique(connection, resolve_doubts, "resolve-doubts")
    return flagged


def flag_interrupted_submissions(session: Session, connection: redis.Redis) -> int:
    """Flag, within seconds, submissions whose submit job died between recording the attempt and the answer."""
    candidates = doubt.interrupted(session, utcnow())
    if not candidates:
        return 0
    costs = current_app.config["SETTINGS"].jogg_credit_costs  # in doubt: JoggAI may have accepted it, so charged
    flagged = doubt.flag_interrupted(session, candidates, lambda m, at: submit_job_alive(connection, m, at), costs)
    if flagged:
        log.warning("%d submissions interrupted (their job died); now in doubt", flagged)
    return flagged


def submit_job_alive(connection: redis.Redis, motion_id: str, started_at: datetime) -> bool:
    """Whether the motion's submit job is waiting or really running (RQ's record and its worker's heartbeat).

    No record at all means Redis lost it (a finished job is re-read in SQL before anything is flagged), while
    the job itself may still be running: it counts as alive for RECORD_LOST_GRACE, longer than its HTTP calls.
    """
    try:
        found = Job.fetch(f"submit-{motion_id}", connection=connection)
    except NoSuchJobError:
        return utcnow() - started_at < RECORD_LOST_GRACE
    return queues.is_live(found, connection)


@job(queue=DEFAULT)
def resolve_doubts() -> dict:
    """Look for evidence for each motion in doubt that is due a look, and apply the policy (app.domain.doubt)."""
    settings = current_app.config["SETTINGS"]
    policy = doubt.DoubtPolicy(
        settings.uncertain_policy, settings.uncertain_grace, settings.submit_max_attempts, settings.poll_intervals
    )
    outcomes: dict[str, int] = {}
    for motion_id in doubt.due(db.session, utcnow()):
        outcome = doubt.resolve(db.session, motion_id, jogg_connection.jogg_client(), policy)
        commit_step(db.session)  # step: each decision is kept before the next motion's calls to JoggAI
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        log.info("motion in doubt %s: %s", motion_id, outcome, extra={"motion_id": motion_id})
    return outcomes


@owns_transaction
def probe_account() -> str | None:
    """Clock task: while submissions are paused, check on the account's schedule whether they can resume."""
    interval = current_app.config["SETTINGS"].jogg_probe_interval
    reason, due = account_probe.claim(db.session, interval)
    commit_step(db.session)  # step: the claim moves the next probe on for every process before JoggAI is asked
    if not due:
        return reason
    return account_probe.settle(db.session, reason, account_probe.ask(jogg_connection.jogg_client()))


@owns_transaction
def read_credits() -> dict | None:
    """Clock task: read JoggAI's remaining credits (each minute while motions are submitted) and forecast."""
    if not credit_forecast.claim(db.session, utcnow()):
        return None
    commit_step(db.session)  # step: the claim moves the next read on for every process before JoggAI is asked
    remaining = credit_forecast.read_balance(jogg_connection.jogg_client())
    if remaining is None:
        return None
    low_hours, connection = current_app.config["SETTINGS"].credit_low_hours, current_app.extensions["redis"]
    return credit_forecast.record(db.session, connection, remaining, utcnow(), low_hours).as_dict()


@owns_transaction
def sweep() -> int:
    """Clock task: one self-healing pass over SQL (app.domain.recovery); returns how much it recovered."""
    settings = current_app.config["SETTINGS"]
    waiting = nudge_waiting_events(db.session, current_app.extensions["redis"], settings.sweep_stale_after)
    costs = settings.jogg_credit_costs  # in doubt: JoggAI may have accepted it, so charged
    released = recovery.recover_submissions(db.session, STUCK_SUBMISSION, costs, settings.sweep_stale_after)
    unparked = recovery.rematch_parked_events(db.session)
    expired = tracking.expire_old(db.session, settings.motion_max_age)
    purged = idempotency.purge_expired(db.session)
    metrics.SWEEPS.inc()
    recovered = {"waiting_events": waiting, "submissions": released, "events": unparked, "expired": expired}
    for kind, count in recovered.items():
        metrics.SWEEP_RECOVERED.labels(kind).inc(count)
    log.info(
        "sweep: %d waiting events nudged, %d submissions recovered, %d events unparked, %d expired, %d keys purged",
        waiting, released, unparked, expired, purged,
    )  # fmt: skip
    return sum(recovered.values())


def nudge_waiting_events(session: Session, connection: redis.Redis, stale_after: float = 30.0) -> int:
    """Webhook events still received a while (30 s) after arriving (a lost nudge, a failed status check): nudge."""
    waiting = jogg_events.waiting_since(session, utcnow() - timedelta(seconds=stale_after))
    end_reads(session)
    if waiting:
        nudge(connection, nudges.EVENTS)
        log.info("sweep: %d webhook events waiting; processing nudged", waiting)
    return waiting


NUDGED = {nudges.DISPATCH: dispatch_now, nudges.EVENTS: process_jogg_events, nudges.PREFLIGHT: preflight_motions}


def nudge(connection: redis.Redis, name: str) -> None:
    """Enqueue the job a nudge names, unless one is already waiting."""
    queues.nudge(connection, name, NUDGED[name])


def send_nudges(names: set[str], delivery_ids: list[int]) -> None:
    """Enqueue what a committed transaction asked for (app.nudges, via database.commit_step); Redis down only delays."""
    preflight = current_app.config["SETTINGS"].preflight
    if nudges.UNCHECKED in names:
        names = (names - {nudges.UNCHECKED}) | {nudges.PREFLIGHT if preflight else nudges.DISPATCH}
    if not preflight:
        names.discard(nudges.PREFLIGHT)
    connection = current_app.extensions["redis"]
    try:
        enqueue_deliveries(connection, delivery_ids)
    except redis.RedisError as exc:
        log.warning("enqueue failed, the sweep will pick the work up: %s", exc.__class__.__name__)
    try:
        queues.nudge_many(connection, {name: NUDGED[name] for name in sorted(names)})
    except redis.RedisError as exc:
        log.warning("nudge failed, the clock will find the work: %s", exc.__class__.__name__)


@dataclass(frozen=True)
class Periodic:
    """One periodic task of the clock: a function run every `interval` seconds, or sooner when `until_next` says."""

    name: str
    function: Callable[[], object]
    interval: float
    until_next: Callable[[], float | None] | None = None  # seconds until it should run again (None: the interval)


def schedule(settings: Settings) -> list[Periodic]:
    """The clock's timetable for these settings (each task owns its transaction)."""
    return [
        Periodic("dispatch", dispatch, settings.dispatch_interval, until_next=next_hand_out_in),
        Periodic("preflight", nudge_preflight, 1.0),
        Periodic("polls", enqueue_due_polls, 1.0),
        Periodic("submissions", watch_submissions, 1.0),
        Periodic("deliveries", enqueue_due_deliveries, 1.0),
        Periodic("probe", probe_account, min(settings.jogg_probe_interval, 5.0)),
        Periodic("credits", read_credits, 10.0),
        Periodic("sweep", sweep, settings.sweep_interval),
    ]
