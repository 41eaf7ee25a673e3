"""Webhook endpoints: the registered receivers, their validation and the events they may hear."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.codes import NOT_FOUND, ApiError, parameter_error
from sandbox.motions import is_web_url

MAX_ENDPOINTS = 20
EVENTS = (
    "generated_video_success",
    "generated_video_failed",
    "generated_motion_success",
    "generated_motion_failed",
    "generated_photo_avatar_success",
    "generated_photo_avatar_failed",
)
STATUSES = ("enabled", "disabled")


@dataclass
class Endpoint:
    """A registered webhook receiver; JoggAI shows its secret on creation and in the endpoint list."""

    url: str
    events: list[str]
    status: str = "enabled"
    endpoint_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    secret: str = field(default_factory=lambda: secrets.token_hex(8))  # 16 chars, like JoggAI's
    created_at: int = field(default_factory=lambda: int(time.time()))

    def hears(self, event: str) -> bool:
        """Whether this endpoint should receive `event`."""
        return self.status == "enabled" and event in self.events

    def view(self) -> dict[str, Any]:
        """The endpoint as JoggAI shows it, secret included (its list shows each secret too, 2026-11)."""
        return {
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "events": list(self.events),
            "status": self.status,
            "secret": self.secret,
            "created_at": self.created_at,
        }


class EndpointBook:
    """The account's endpoints, at most MAX_ENDPOINTS; callers hold the state lock."""

    def __init__(self) -> None:
        self._endpoints: dict[str, Endpoint] = {}

    def create(self, body: Any) -> Endpoint:
        """Register an endpoint from a POST /v2/endpoint body."""
        if len(self._endpoints) >= MAX_ENDPOINTS:
            raise parameter_error("endpoint", f"at most {MAX_ENDPOINTS} endpoints per account")
        fields = endpoint_fields(body, partial=False)
        endpoint = Endpoint(**fields)
        self._endpoints[endpoint.endpoint_id] = endpoint
        return endpoint

    def update(self, endpoint_id: str, body: Any) -> Endpoint:
        """Change url, events or status; the secret never changes."""
        endpoint = self.get(endpoint_id)
        for name, value in endpoint_fields(body, partial=True).items():
            setattr(endpoint, name, value)
        return endpoint

    def delete(self, endpoint_id: str) -> None:
        """Forget an endpoint."""
        self.get(endpoint_id)
        del self._endpoints[endpoint_id]

    def get(self, endpoint_id: str) -> Endpoint:
        """One endpoint, or 10104."""
        if endpoint_id not in self._endpoints:
            raise ApiError(NOT_FOUND, f"endpoint {endpoint_id} not found")
        return self._endpoints[endpoint_id]

    def all(self) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        return list(self._endpoints.values())

    def __len__(self) -> int:
        """How many endpoints are registered."""
        return len(self._endpoints)


def endpoint_fields(body: Any, partial: bool) -> dict[str, Any]:
    """Validate url, events and status; `partial` lets each be absent (PUT)."""
    if not isinstance(body, dict):
        raise parameter_error("body", "must be a JSON object")
    fields: dict[str, Any] = {}
    if "url" in body or not partial:
        if not isinstance(body.get("url"), str) or not is_web_url(body["url"]):
            raise parameter_error("url", "is required and must be an http or https URL")
        fields["url"] = body["url"]
    if "events" in body or not partial:
        fields["events"] = checked_events(body.get("events"))
    if "status" in body:
        if body["status"] not in STATUSES:
            raise parameter_error("status", f"must be one of {', '.join(STATUSES)}")
        fields["status"] = body["status"]
    return fields


def checked_events(events: Any) -> list[str]:
    """A non-empty list of known event names, without repeats."""
    if not isinstance(events, list) or not events:
        raise parameter_error("events", "is required and must be a non-empty list")
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise parameter_error("events", f"unknown event(s): {', '.join(map(str, unknown))}")
    return list(dict.fromkeys(events))
