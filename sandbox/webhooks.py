"""Outgoing webhooks: event bodies, HMAC signatures, fan-out with drops and duplicates, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import requests

from sandbox.config import SandboxConfig
from sandbox.endpoints import Endpoint
from sandbox.motions import Motion, event_data
from sandbox.stats import Stats

log = logging.getLogger(__name__)
USER_AGENT = "JoggAI-Webhook/2.0"


class Sender(Protocol):
    """What sending needs of the sandbox (its SandboxState): the knobs in force, the counters, the timer."""

    @property
    def config(self) -> SandboxConfig:
        """The knobs now in force."""

    stats: Stats

    def schedule(self, delay: float, job: Callable[[], None]) -> None:
        """Run `job` later, unless a reset comes first."""


@dataclass(frozen=True)
class Delivery:
    """One signed event body on its way to one receiver; retries resend the same bytes."""

    url: str
    secret: str
    event: str
    body: bytes

    def headers(self) -> dict[str, str]:
        """The headers JoggAI sends with a webhook."""
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Webhook-Event": self.event,
            "X-Webhook-Signature": sign(self.body, self.secret),
        }


def sign(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, keyed with the secret as UTF-8."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def event_body(event: str, event_id: str, data: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    payload = {"event_id": event_id, "event": event, "timestamp": int(time.time()), "data": data}
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def motion_events(motion: Motion, config: SandboxConfig) -> list[tuple[str, bytes]]:
    """The events a finished motion fires, as (event name, body) pairs."""
    outcome = "success" if motion.succeeds else "failed"
    names = [f"generated_motion_{outcome}"]
    if config.photo_avatar_events:
        names.append(f"generated_photo_avatar_{outcome}")
    data = event_data(motion, config)
    return [(name, event_body(name, event_id(motion, config), data)) for name in names]


def event_id(motion: Motion, config: SandboxConfig) -> str:
    """A fresh id per event, or the task id (JoggAI may do either)."""
    return motion.motion_id if config.webhook_event_id == "motion_id" else uuid.uuid4().hex


def receivers(event: str, endpoints: Iterable[Endpoint], config: SandboxConfig) -> list[Delivery]:
    """Every subscribed, enabled endpoint plus the configured webhook_url, body not yet set."""
    targets = [Delivery(e.url, e.secret, event, b"") for e in endpoints if e.hears(event)]
    if config.webhook_url:
        targets.append(Delivery(config.webhook_url, config.webhook_secret, event, b""))
    return targets


def plan(
    motion: Motion,
    config: SandboxConfig,
    endpoints: Iterable[Endpoint],
    chance: Callable[[float], bool],
    stats: Stats,
) -> list[Delivery]:
    """The deliveries for a finished motion after the drop and duplicate knobs had their say."""
    deliveries = []
    for name, body in motion_events(motion, config):
        for target in receivers(name, endpoints, config):
            if chance(config.webhook_drop_rate):
                stats.bump("webhooks_dropped")
                continue
            delivery = Delivery(target.url, target.secret, name, body)
            deliveries.append(delivery)
            if chance(config.webhook_duplicate_rate):
                stats.bump("webhooks_duplicated")
                deliveries.append(delivery)
    return deliveries


def send(state: Sender, delivery: Delivery, attempt: int = 0) -> None:
    """POST once; on failure schedule the next try until `webhook_retries` are used up."""
    config = state.config
    delivered = post_once(delivery, config.webhook_timeout_seconds)
    state.stats.bump("webhooks_sent")
    state.stats.bump("webhooks_delivered" if delivered else "webhooks_failed")
    if attempt:
        state.stats.bump("webhooks_retried")
    if delivered:
        return
    if attempt < config.webhook_retries:
        retry = partial(send, state, delivery, attempt + 1)
        state.schedule(config.webhook_retry_delay_seconds, retry)
    else:
        state.stats.bump("webhooks_abandoned")


def post_once(delivery: Delivery, timeout: float) -> bool:
    """One attempt; only a 2xx counts, and redirects are not followed."""
    try:
        response = requests.post(
            delivery.url,
            data=delivery.body,
            headers=delivery.headers(),
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        log.info("webhook %s to %s failed: %s", delivery.event, delivery.url, error)
        return False
    log.info("webhook %s to %s: HTTP %s", delivery.event, delivery.url, response.status_code)
    return 200 <= response.status_code < 300
