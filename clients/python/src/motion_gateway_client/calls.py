"""The API's routes as request descriptions and result readers, shared by the sync and async clients."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from motion_gateway_client.batch import BatchResult
from motion_gateway_client.errors import TransportFailed, UnexpectedResponse, error_for
from motion_gateway_client.models import Delivery, Event, MalformedResource, Motion, StatusChange, Usage
from motion_gateway_client.retrying import RetryPolicy, Safety, note_retry

MAX_WAIT = 30.0  # the longest ?wait= the API holds a request
USER_AGENT = "motion-gateway-client-python/0.1.0"
T = TypeVar("T")


class Unset:
    """The type of UNSET: a field left out of the request, as opposed to one sent as null."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


@dataclass(frozen=True)
class Call:
    """One API request: method, path, query, JSON body, extra headers, how safe a retry is, extra read time."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    safety: Safety = Safety.REPEATABLE
    held_for: float = 0.0


def default_headers(api_key: str) -> dict[str, str]:
    """Headers every request carries: the API key and who is calling."""
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}


def retry_delay(policy: RetryPolicy, call: Call, attempt: int, outcome: httpx.Response | httpx.TransportError) -> float:
    """Seconds to wait before trying the failed call again; raises the call's error when it is not retried."""
    if isinstance(outcome, httpx.TransportError):
        delay = policy.after_error(outcome, attempt, call.safety)
        if delay is None:
            raise TransportFailed(f"{call.method} {call.path}: {outcome!r}") from outcome
        reason = type(outcome).__name__
    else:
        delay = policy.after_response(outcome, attempt, call.safety)
        if delay is None:
            raise error_for(outcome.status_code, outcome.reason_phrase, outcome.content, outcome.headers)
        reason = str(outcome.status_code)
    note_retry(call.method, call.path, attempt, delay, reason)
    return delay


def motion_path(motion_id: str, *rest: str) -> str:
    """The path of a motion (or of a sub-resource), its id escaped."""
    return "/".join(["/v1/motions", quote(motion_id, safe=""), *rest])


def create_motion(fields: Mapping[str, Any], idempotency_key: str | None) -> Call:
    """POST /v1/motions with a key made here unless given; the retries of this call reuse it."""
    key = idempotency_key or str(uuid.uuid4())
    return Call("POST", "/v1/motions", body=dict(fields), headers={"Idempotency-Key": key})


def create_motions(items: Sequence[Mapping[str, Any]], idempotency_key: str | None) -> Call:
    """POST /v1/motions/batch: one key (made here unless given) for the whole batch and every retry of it."""
    key = idempotency_key or str(uuid.uuid4())
    body = {"items": [dict(item) for item in items]}
    return Call("POST", "/v1/motions/batch", body=body, headers={"Idempotency-Key": key})


def usage(from_: date | None, to: date | None) -> Call:
    """GET /v1/usage for the days given (the API's default: the current UTC month)."""
    days = {"from": from_, "to": to}
    return Call("GET", "/v1/usage", params={name: _day(day) for name, day in days.items() if day is not None})


def _day(day: date) -> str:
    """A day as YYYY-MM-DD (a datetime as its UTC day, a naive one taken as UTC)."""
    if isinstance(day, datetime):
        day = (day.astimezone(UTC) if day.tzinfo else day).date()
    return day.isoformat()


def motion_fields(
    required: dict[str, str],
    optional: dict[str, Any],
    callback_url: str | None | Unset,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The create body: required fields, optional ones that were given, callback_url unless UNSET, then extra."""
    body: dict[str, Any] = {**required, **{name: value for name, value in optional.items() if value is not None}}
    if not isinstance(callback_url, Unset):
        body["callback_url"] = callback_url
    body.update(extra or {})
    return body


def get_motion(motion_id: str, wait: float = 0.0) -> Call:
    """GET /v1/motions/{id}, held up to `wait` seconds for a status change."""
    if wait <= 0:
        return Call("GET", motion_path(motion_id))
    wait = min(wait, MAX_WAIT)
    return Call("GET", motion_path(motion_id), params={"wait": f"{wait:g}"}, held_for=wait)


def list_motions(filters: Mapping[str, str | datetime | None], page_size: int, cursor: str | None) -> Call:
    """One page of GET /v1/motions."""
    params = {name: _query_value(value) for name, value in filters.items() if value is not None}
    params["limit"] = str(page_size)
    if cursor:
        params["cursor"] = cursor
    return Call("GET", "/v1/motions", params=params)


def event_page(after: str | None, page_size: int) -> Call:
    """One page of GET /v1/events."""
    params = {"limit": str(page_size)}
    if after:
        params["after"] = after
    return Call("GET", "/v1/events", params=params)


def motion_action(motion_id: str, action: str) -> Call:
    """POST /v1/motions/{id}/cancel or /retry: not repeated unless it surely did not arrive."""
    return Call("POST", motion_path(motion_id, action), safety=Safety.ONCE)


def redeliver(delivery_id: str) -> Call:
    """POST /v1/deliveries/{id}/redeliver."""
    return Call("POST", "/v1/deliveries/" + quote(delivery_id, safe="") + "/redeliver", safety=Safety.ONCE)


def _query_value(value: str | datetime) -> str:
    """A query parameter's text; datetimes as ISO 8601 (naive ones taken as UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def document(response: httpx.Response) -> dict[str, Any]:
    """The JSON object a success response carries."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        raise UnexpectedResponse(f"{response.request.method} {response.request.url.path}: not JSON") from None
    if not isinstance(body, dict):
        raise UnexpectedResponse(f"{response.request.method} {response.request.url.path}: not a JSON object")
    return body


def read_motion(response: httpx.Response) -> Motion:
    """The Motion a response carries."""
    return _read(lambda: Motion.from_dict(document(response)))


def read_batch(response: httpx.Response) -> list[BatchResult]:
    """One result per batch item, in the order sent."""
    body = document(response)
    return _read(lambda: [BatchResult.from_dict(index, item) for index, item in enumerate(_items(body))])


def read_usage(response: httpx.Response) -> Usage:
    """The Usage a response carries."""
    return _read(lambda: Usage.from_dict(document(response)))


def read_motion_page(response: httpx.Response) -> tuple[list[Motion], str | None]:
    """A page of motions and the cursor of the next page (None after the last)."""
    page = document(response)
    return _read(lambda: ([Motion.from_dict(item) for item in _items(page)], _cursor(page, required=False)))


def read_event_page(response: httpx.Response) -> tuple[list[Event], str]:
    """A page of the event feed and the cursor to continue from."""
    page = document(response)
    return _read(lambda: ([Event.from_dict(item) for item in _items(page)], _cursor(page, required=True) or ""))


def read_history(response: httpx.Response) -> list[StatusChange]:
    """A motion's status history."""
    return _read(lambda: [StatusChange.from_dict(item) for item in _items(document(response))])


def read_deliveries(response: httpx.Response) -> list[Delivery]:
    """A motion's callback deliveries."""
    return _read(lambda: [Delivery.from_dict(item) for item in _items(document(response))])


def read_delivery(response: httpx.Response) -> Delivery:
    """One callback delivery."""
    return _read(lambda: Delivery.from_dict(document(response)))


def _items(page: dict[str, Any]) -> list[Any]:
    """A list response's items."""
    items = page.get("items")
    if not isinstance(items, list):
        raise MalformedResource("'items' must be a list")
    return items


def _cursor(page: dict[str, Any], required: bool) -> str | None:
    """A page's next_cursor."""
    cursor = page.get("next_cursor")
    if cursor is None and not required:
        return None
    if not isinstance(cursor, str):
        raise MalformedResource("'next_cursor' must be a string")
    return cursor


def _read(reader: Callable[[], T]) -> T:
    """Run a reader, turning a malformed document into UnexpectedResponse."""
    try:
        return reader()
    except MalformedResource as exc:
        raise UnexpectedResponse(str(exc)) from None
