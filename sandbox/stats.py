"""Counters the control API reports: calls, motions, error answers and webhook deliveries."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

COUNTERS = (
    "add_motion_calls",
    "motions_created",
    "motions_completed",
    "motions_failed",
    "status_checks",
    "hangs",
    "hangs_before_create",
    "drops_after_create",
    "photo_avatar_lists",
    "voice_lists",
    "credits_charged",  # charged when add_motion accepts a request, as JoggAI does; never refunded
    "images_served",
    "webhooks_sent",
    "webhooks_delivered",
    "webhooks_failed",
    "webhooks_retried",
    "webhooks_abandoned",
    "webhooks_dropped",
    "webhooks_duplicated",
)


class Stats:
    """Thread-safe tallies; `snapshot()` is what GET /_sandbox/stats returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._calls_by_name: Counter[str] = Counter()
        self._created_by_name: Counter[str] = Counter()
        self._codes: Counter[int] = Counter()
        self._http: Counter[int] = Counter()

    def bump(self, counter: str, amount: int = 1) -> None:
        """Add to one of COUNTERS."""
        if counter not in COUNTERS:
            raise KeyError(counter)
        with self._lock:
            self._counts[counter] += amount

    def add_motion_call(self, name: Any) -> None:
        """Count an add_motion request, keyed by its `name` when it has a usable one."""
        with self._lock:
            self._counts["add_motion_calls"] += 1
            if isinstance(name, str):
                self._calls_by_name[name] += 1

    def motion_created(self, name: str) -> None:
        """Count a motion JoggAI would have created (and charged for)."""
        with self._lock:
            self._counts["motions_created"] += 1
            self._created_by_name[name] += 1

    def response(self, code: int | None, http_status: int) -> None:
        """Count an answer by business code (when it had an envelope) and HTTP status."""
        with self._lock:
            if code is not None:
                self._codes[code] += 1
            self._http[http_status] += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter, including zeros, plus the per-name and per-code breakdowns."""
        with self._lock:
            data: dict[str, Any] = {name: self._counts[name] for name in COUNTERS}
            data["responses_429"] = self._codes[429]
            data["responses_5xx"] = sum(n for status, n in self._http.items() if status >= 500)
            data["add_motion_calls_by_name"] = dict(self._calls_by_name)
            data["motions_created_by_name"] = dict(self._created_by_name)
            data["responses_by_code"] = {str(code): n for code, n in self._codes.items()}
            data["responses_by_http_status"] = {str(st): n for st, n in self._http.items()}
        return data
