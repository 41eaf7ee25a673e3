"""The sandbox's one in-memory world: knobs, motions, endpoints, credits, limiter and counters."""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sandbox import webhooks
from sandbox.avatars import AvatarQuery, avatar_page
from sandbox.codes import INSUFFICIENT_CREDIT, NOT_FOUND, RATE_LIMITED, ApiError, parameter_error
from sandbox.config import SandboxConfig
from sandbox.endpoints import Endpoint, EndpointBook
from sandbox.motions import Motion, status_view, validate_add_motion
from sandbox.ratelimit import Admission, SlidingWindowLimiter
from sandbox.scheduler import Scheduler
from sandbox.stats import Stats
from sandbox.voices import VoiceQuery, custom_page, library_page

FIRST_AVATAR_ID = 100001
SUBMIT_FAULTS = (
    ("error", "error_rate"),
    ("business", "business_error_rate"),
    ("hang_before", "hang_before_rate"),
    ("hang", "hang_rate"),
    ("drop_after", "drop_after_create_rate"),
)


class SandboxState:
    """Everything the sandbox knows, behind one lock; request handlers and timers share it."""

    def __init__(self, config: SandboxConfig) -> None:
        self._lock = threading.Lock()
        self._startup_config = config
        self._closing = threading.Event()
        self._epoch = 0  # bumped by reset() so timers set before it do nothing after it
        self.scheduler = Scheduler()
        self._start_fresh(config)

    def _start_fresh(self, config: SandboxConfig) -> None:
        """Forget every motion, endpoint, POST and count; seed the dice again."""
        self._config = config
        self._rng = random.Random(config.seed)
        self._credits = config.credits
        self._motions: dict[str, Motion] = {}
        self._endpoints = EndpointBook()
        self._limiter = SlidingWindowLimiter()
        self._avatar_ids = itertools.count(FIRST_AVATAR_ID)
        self.stats = Stats()

    @property
    def config(self) -> SandboxConfig:
        """The knobs now in force (an immutable snapshot)."""
        return self._config

    def update_config(self, changes: Mapping[str, Any]) -> SandboxConfig:
        """Apply a partial knob update; `credits` sets the balance and `seed` reseeds the dice."""
        with self._lock:
            self._config = self._config.with_changes(changes)
            if "credits" in changes:
                self._credits = self._config.credits
            if "seed" in changes:
                self._rng = random.Random(self._config.seed)
            return self._config

    def reset(self) -> None:
        """Back to the settings the sandbox started with, with no motions, endpoints or counts."""
        with self._lock:
            self.scheduler.clear()
            self._epoch += 1
            self._start_fresh(self._startup_config)

    def close(self) -> None:
        """Stop the timers and release any request held by the hang knob."""
        self._closing.set()
        self.scheduler.close()

    def schedule(self, delay: float, job: Callable[[], None]) -> None:
        """Run `job` later on the scheduler, unless a reset comes first."""
        epoch = self._epoch

        def unless_reset() -> None:
            """Run the job only if no reset happened since it was scheduled."""
            if self._epoch == epoch:
                job()

        self.scheduler.call_later(delay, unless_reset)

    def _chance(self, rate: float) -> bool:
        """A seeded coin flip with probability `rate`; the caller holds the lock."""
        if rate <= 0:
            return False
        return rate >= 1 or self._rng.random() < rate

    def admit_post(self, api_key: str) -> Admission:
        """Count a POST against the key's window, or refuse it with a 429."""
        with self._lock:
            config = self._config
            admission = self._limiter.admit(api_key, config.rate_limit, config.rate_window_seconds, time.monotonic())
        if not admission.allowed:
            headers = rate_headers(admission, config) if config.rate_limit_headers else None
            raise ApiError(RATE_LIMITED, headers=headers)
        return admission

    def submit_fault(self) -> str | None:
        """Which fault, if any, this add_motion call suffers: error, business, hang_before, hang or drop_after."""
        with self._lock:
            for fault, knob in SUBMIT_FAULTS:
                if self._chance(getattr(self._config, knob)):
                    return fault
        return None

    def create_motion(self, body: Any) -> Motion:
        """Validate, charge credits (on accepting, not completing) and start a motion ending after motion_seconds."""
        request = validate_add_motion(body)
        with self._lock:
            config = self._config
            if self._credits < request.cost:
                raise ApiError(INSUFFICIENT_CREDIT)
            self._credits -= request.cost
            succeeds = not self._chance(config.failure_rate)
            motion = Motion.start(request, next(self._avatar_ids), time.monotonic(), config.motion_seconds, succeeds)
            self._motions[motion.motion_id] = motion
        self.stats.motion_created(request.name)
        self.stats.bump("credits_charged", request.cost)
        self.schedule(config.motion_seconds, partial(self._finish, motion.motion_id))
        return motion

    def _finish(self, motion_id: str) -> None:
        """Timer job: count the outcome and send the webhooks the knobs allow."""
        with self._lock:
            motion = self._motions.get(motion_id)
            if motion is None:  # a reset raced this timer
                return
            config = self._config
            deliveries = webhooks.plan(motion, config, self._endpoints.all(), self._chance, self.stats)
        self.stats.bump("motions_completed" if motion.succeeds else "motions_failed")
        for delivery in deliveries:
            self.schedule(config.webhook_delay_seconds, partial(webhooks.send, self, delivery))

    def motion_status(self, motion_id: str | None) -> dict[str, Any]:
        """The status check's data for one motion, or 10104."""
        self.stats.bump("status_checks")
        if not motion_id:
            raise parameter_error("motion_id", "is required")
        with self._lock:
            motion = self._motions.get(motion_id)
            if motion is None:
                raise ApiError(NOT_FOUND, f"motion {motion_id} not found")
            motion.status_checks += 1
            return status_view(motion, time.monotonic(), self._config)

    def hang(self, counter: str = "hangs") -> None:
        """Hold the current request for hang_seconds, counting it under `counter`."""
        self.stats.bump(counter)
        self._closing.wait(self.config.hang_seconds)

    def photo_avatars(self, query: AvatarQuery) -> dict[str, Any]:
        """One page of the photo-avatar list (avatars made by add_motion, if list_motion_avatars is on)."""
        self.stats.bump("photo_avatar_lists")
        with self._lock:
            listed = list(self._motions.values()) if self._config.list_motion_avatars else []
            return avatar_page(listed, query, time.monotonic())

    def voices(self, query: VoiceQuery) -> dict[str, Any]:
        """One page of the voice library."""
        self.stats.bump("voice_lists")
        return library_page(query)

    def custom_voices(self, query: VoiceQuery) -> dict[str, Any]:
        """One page of the account's custom voices (the `voices` knob)."""
        self.stats.bump("voice_lists")
        return custom_page(self.config.voices, query)

    def remaining_quota(self) -> int:
        """Credits left."""
        with self._lock:
            return self._credits

    def create_endpoint(self, body: Any) -> Endpoint:
        """Register a webhook endpoint (at most 20)."""
        with self._lock:
            return self._endpoints.create(body)

    def update_endpoint(self, endpoint_id: str, body: Any) -> Endpoint:
        """Change an endpoint's url, events or status."""
        with self._lock:
            return self._endpoints.update(endpoint_id, body)

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove an endpoint."""
        with self._lock:
            self._endpoints.delete(endpoint_id)

    def endpoints(self) -> list[Endpoint]:
        """Every registered endpoint."""
        with self._lock:
            return self._endpoints.all()

    def stats_snapshot(self) -> dict[str, Any]:
        """The counters plus credits, endpoint count and a line per motion."""
        data = self.stats.snapshot()
        now = time.monotonic()
        with self._lock:
            data["credits_remaining"] = self._credits
            data["endpoints"] = len(self._endpoints)
            data["motions"] = {
                motion.motion_id: {
                    "name": motion.request.name,
                    "model": motion.request.model,
                    "status": motion.phase(now),
                    "status_checks": motion.status_checks,
                }
                for motion in self._motions.values()
            }
        return data


def rate_headers(admission: Admission, config: SandboxConfig) -> dict[str, str]:
    """Retry-After and X-RateLimit-* headers, sent only when `rate_limit_headers` is on."""
    headers = {
        "X-RateLimit-Limit": str(config.rate_limit),
        "X-RateLimit-Remaining": str(admission.remaining),
    }
    if not admission.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(admission.retry_after)))
    return headers
