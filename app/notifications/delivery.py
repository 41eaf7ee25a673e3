"""Delivering notification events to callback URLs: one signed POST per attempt, every attempt recorded."""

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from urllib3.exceptions import NewConnectionError

from app import logs, nudges
from app.models import CallbackEndpoint, Caller, Delivery, DeliveryAttempt, DeliveryStatus, NotificationEvent
from app.models.types import utcnow
from app.notifications import signing
from app.notifications.http import host_header, pinned_to
from app.notifications.retry_schedule import Outcome, classify, next_delay, parse_retry_after
from app.notifications.url_safety import UnsafeCallbackUrl, check_callback_url

log = logging.getLogger(__name__)

CONNECT_TIMEOUT, TOTAL_TIMEOUT = 5.0, 15.0
BODY_KEPT = 20 * 1024
DISABLE_AFTER = timedelta(days=5)
DEFER_SECONDS = 1.0  # a delivery whose URL is busy waits this long for the clock, unless the URL's sender takes it


@dataclass(frozen=True)
class Answer:
    """What one POST got back."""

    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    timed_out: bool = False
    retry_after: str | None = None
    duration_ms: int = 0
    connect_failed: bool = False  # nothing was sent: another approved address may be tried


@dataclass(frozen=True)
class Prepared:
    """A delivery ready to send: where, what, and with which headers."""

    delivery_id: int
    url: str
    body: str
    headers: dict
    addresses: tuple[str, ...]  # what the URL check approved: the only addresses the POST may connect to


def due_url(session: Session, delivery_id: int, now: datetime) -> str | None:
    """The URL of a pending delivery that is due, else None (a cheap look before taking the URL's turn)."""
    row = session.execute(
        select(Delivery.url).where(
            Delivery.id == delivery_id,
            Delivery.status == DeliveryStatus.PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
    ).first()
    session.rollback()
    return row[0] if row else None


def prepare(
    session: Session, delivery_id: int, allowed: tuple[str, ...], now: datetime, early: timedelta = timedelta(0)
) -> Prepared | str:
    """Check a delivery due by `now + early` can go now; returns what to send, or why not (recorded, uncommitted)."""
    delivery = session.get(Delivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    if delivery.next_attempt_at and delivery.next_attempt_at > now + early:
        return "not due"
    endpoint = endpoint_for(session, delivery.caller_id, delivery.url)
    if endpoint.disabled_at:
        return _finish(session, delivery, DeliveryStatus.STOPPED, f"callback URL disabled: {endpoint.disabled_reason}")
    earlier = _earlier_pending(session, delivery)
    if earlier is not None:  # keep each motion's events in sequence order at the receiver
        delivery.next_attempt_at = max(earlier.next_attempt_at or now, now) + timedelta(milliseconds=1)
        return "waiting for an earlier event"
    try:
        addresses = tuple(check_callback_url(delivery.url, allowed))
    except UnsafeCallbackUrl as exc:
        return _finish(session, delivery, DeliveryStatus.FAILED, f"callback URL refused: {exc}")
    body = json.dumps(callback_body(delivery.event), separators=(",", ":"))
    caller = session.get(Caller, delivery.caller_id)
    headers = signing.headers(secrets_of(caller, now), delivery.event.public_id, int(time.time()), body)
    headers["X-Request-ID"] = logs.current("request_id") or logs.new_request_id()
    return Prepared(delivery.id, delivery.url, body, headers, addresses)


def post(http: requests.Session, prepared: Prepared) -> Answer:
    """POST to the checked addresses in turn until one accepts the connection (never a fresh DNS lookup)."""
    answer = Answer(error="no approved address")
    for address in prepared.addresses:
        answer = _post_to(http, prepared, address)
        if not answer.connect_failed:
            return answer
    return answer


def _post_to(http: requests.Session, prepared: Prepared, address: str) -> Answer:
    """POST the signed body to one address: 5 s to connect, 15 s in all, no redirects, 20 KB of the answer kept."""
    started = time.monotonic()
    headers = {**prepared.headers, "Host": host_header(prepared.url)}
    try:
        with pinned_to(address), http.post(
            prepared.url, data=prepared.body.encode(), headers=headers,
            timeout=(CONNECT_TIMEOUT, TOTAL_TIMEOUT), allow_redirects=False, stream=True,
        ) as response:  # fmt: skip
            body = _read_capped(response, started + TOTAL_TIMEOUT)
            elapsed = _ms(started)
            return Answer(response.status_code, body, None, False, response.headers.get("Retry-After"), elapsed)
    except requests.Timeout as exc:
        connect_failed = isinstance(exc, requests.ConnectTimeout)
        return Answer(error="timed out", timed_out=True, duration_ms=_ms(started), connect_failed=connect_failed)
    except requests.ConnectionError as exc:
        refused = isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), NewConnectionError)
        return Answer(error=exc.__class__.__name__, duration_ms=_ms(started), connect_failed=refused)
    except requests.RequestException as exc:
        return Answer(error=f"{exc.__class__.__name__}", duration_ms=_ms(started))


def record(session: Session, delivery_id: int, answer: Answer, schedule: tuple[int, ...], now: datetime) -> str:
    """Store the attempt and decide: delivered, retry later, stop (410) or give up (the caller commits)."""
    locked = select(Delivery).where(Delivery.id == delivery_id).with_for_update(of=Delivery)
    delivery = session.scalars(locked.execution_options(populate_existing=True)).unique().one()
    outcome = classify(answer.status_code, answer.timed_out)
    delivery.attempts += 1
    delay = next_delay(schedule, delivery.attempts, outcome, parse_retry_after(answer.retry_after, now))
    next_at = now + timedelta(seconds=delay) if delay is not None else None
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id, at=now, status_code=answer.status_code, error=answer.error,
            response_body=answer.body, duration_ms=answer.duration_ms, next_attempt_at=next_at,
        )
    )  # fmt: skip
    endpoint = endpoint_for(session, delivery.caller_id, delivery.url)
    if outcome is Outcome.SUCCESS:
        _healthy(endpoint, now)
        _finish(session, delivery, DeliveryStatus.DELIVERED, None)
        _wake_next(session, delivery, now)
    elif outcome is Outcome.GONE:
        _disable(session, endpoint, "the receiver answered 410 Gone", now)
        _finish(session, delivery, DeliveryStatus.STOPPED, "410 Gone")
    else:
        _failing(session, endpoint, now)
        error = answer.error or f"HTTP {answer.status_code}"
        if next_at is None:
            _finish(
                session,
                delivery,
                DeliveryStatus.FAILED,
                f"gave up after {delivery.attempts} attempts: {error}",
            )
            _wake_next(session, delivery, now)
        else:
            delivery.next_attempt_at, delivery.last_error = next_at, error
    session.flush()
    return delivery.status


def defer(session: Session, delivery_id: int, now: datetime) -> str:
    """Another attempt to the same URL is under way: its sender takes this one next, or the clock in a second."""
    later = now + timedelta(seconds=DEFER_SECONDS)
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
        .where(or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at < later))  # never brings one forward
        .values(next_attempt_at=later)
    )
    return "deferred: URL busy"


def attempt_number(session: Session, delivery_id: int) -> int:
    """How many attempts a delivery has had."""
    return session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 0


def secrets_of(caller: Caller, now: datetime) -> list[str]:
    """The secrets to sign with: the current one, and the previous one during its overlap."""
    secrets = [caller.webhook_secret]
    if caller.previous_webhook_secret and caller.previous_secret_expires_at and caller.previous_secret_expires_at > now:
        secrets.append(caller.previous_webhook_secret)
    return secrets


def endpoint_for(session: Session, caller_id: int, url: str) -> CallbackEndpoint:
    """The health record of a caller's URL, created on first use."""
    stmt = select(CallbackEndpoint).where(CallbackEndpoint.caller_id == caller_id, CallbackEndpoint.url == url)
    endpoint = session.scalars(stmt).first()
    if endpoint is None:
        endpoint = CallbackEndpoint(caller_id=caller_id, url=url)
        session.add(endpoint)
    return endpoint


def due(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    """Pending deliveries whose next attempt has come, oldest first."""
    stmt = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _earlier_pending(session: Session, delivery: Delivery) -> Delivery | None:
    """A pending delivery of an earlier event of the same motion to the same URL."""
    stmt = select(Delivery).where(
        Delivery.motion_id == delivery.motion_id,
        Delivery.url == delivery.url,
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.sequence < delivery.sequence,
    )
    return session.scalars(stmt.order_by(Delivery.sequence)).first()


def _wake_next(session: Session, delivery: Delivery, now: datetime) -> None:
    """The next events of the same motion need not wait any longer: due now, enqueued once committed."""
    waiting = session.scalars(
        select(Delivery.id).where(
            Delivery.motion_id == delivery.motion_id,
            Delivery.url == delivery.url,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.sequence > delivery.sequence,
            Delivery.attempts == 0,
        )
    ).all()
    if waiting:
        session.execute(update(Delivery).where(Delivery.id.in_(waiting)).values(next_attempt_at=now))
        nudges.ask_deliveries(session, waiting)


def _finish(session: Session, delivery: Delivery, status: str, error: str | None) -> str:
    """Close a delivery for good (the caller commits)."""
    delivery.status, delivery.finished_at, delivery.next_attempt_at = status, utcnow(), None
    delivery.last_error = error[:500] if error else delivery.last_error
    return status


def _healthy(endpoint: CallbackEndpoint, now: datetime) -> None:
    """A success clears the URL's failure streak."""
    endpoint.failing_since, endpoint.last_success_at = None, now


def _failing(session: Session, endpoint: CallbackEndpoint, now: datetime) -> None:
    """Track a failure streak; a caller's default URL failing for 5 days is disabled."""
    endpoint.failing_since = endpoint.failing_since or now
    caller = session.get(Caller, endpoint.caller_id)
    if now - endpoint.failing_since >= DISABLE_AFTER and endpoint.url == caller.default_callback_url:
        _disable(session, endpoint, "nothing but failures for 5 days", now)


def _disable(session: Session, endpoint: CallbackEndpoint, reason: str, now: datetime) -> None:
    """Stop calling a URL: its pending deliveries stop too; operators see it in `callers list`."""
    if endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = now, reason
        log.warning("callback URL of caller %s disabled: %s", endpoint.caller_id, reason)
    session.execute(
        update(Delivery)
        .where(
            Delivery.caller_id == endpoint.caller_id,
            Delivery.url == endpoint.url,
            Delivery.status == DeliveryStatus.PENDING,
        )
        .values(
            status=DeliveryStatus.STOPPED, finished_at=now, next_attempt_at=None, last_error=f"URL disabled: {reason}"
        )
    )


def _read_capped(response: requests.Response, deadline: float) -> str:
    """Up to 20 KB of the answer, giving up at the deadline."""
    kept = b""
    for chunk in response.iter_content(chunk_size=4096):
        kept += chunk
        if len(kept) >= BODY_KEPT or time.monotonic() > deadline:
            break
    return kept[:BODY_KEPT].decode("utf-8", errors="replace")


def _ms(started: float) -> int:
    """Milliseconds since started."""
    return int((time.monotonic() - started) * 1000)


def callback_body(event: NotificationEvent) -> dict:
    """The JSON body POSTed to a callback URL: the same bytes on every attempt of this event."""
    return {
        "id": event.public_id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "sequence": event.sequence,
        "data": event.data,
    }
