"""AsyncClient: the asyncio client for the motion-gateway API, with the same methods as Client."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any

import httpx

from motion_gateway_client import calls
from motion_gateway_client.batch import BatchResult
from motion_gateway_client.calls import UNSET, Call, Unset
from motion_gateway_client.errors import WaitTimedOut
from motion_gateway_client.feed import AsyncEventFeed, Page
from motion_gateway_client.models import Delivery, Motion, StatusChange, Usage
from motion_gateway_client.retrying import RetryPolicy


class AsyncClient:
    """Calls the API for one caller from asyncio code; `async with`, or await aclose()."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._http = httpx.AsyncClient(base_url=base_url, headers=calls.default_headers(api_key), transport=transport)

    def __repr__(self) -> str:
        return f"AsyncClient({str(self._http.base_url)!r})"  # never the API key

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def create_motion(
        self,
        image_url: str,
        name: str,
        voice_id: str,
        model: str,
        *,
        photo_id: str | None = None,
        description: str | None = None,
        welcome_msg: str | None = None,
        callback_url: str | None | Unset = UNSET,
        metadata: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        priority: str | None = None,
        reuse: bool = False,
        idempotency_key: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Motion:
        """Submit a motion (202, queued). callback_url=None: no callbacks; left out: the caller's default URL.

        One Idempotency-Key (yours, or one made here) covers every retry of this call, so a retry after
        a lost answer returns the motion the first attempt created instead of making a second one.
        reuse=True: answered by an identical completed (or still running) motion of yours, for 0 credits.
        """
        required = {"image_url": image_url, "name": name, "voice_id": voice_id, "model": model}
        optional = {
            "photo_id": photo_id,
            "description": description,
            "welcome_msg": welcome_msg,
            "metadata": metadata,
            "external_id": external_id,
            "priority": priority,
            "reuse": True if reuse else None,
        }
        body = calls.motion_fields(required, optional, callback_url, extra)
        return calls.read_motion(await self._send(calls.create_motion(body, idempotency_key)))

    async def create_motions(
        self, items: Sequence[Mapping[str, Any]], idempotency_key: str | None = None
    ) -> list[BatchResult]:
        """Submit up to 100 motion requests (dicts with create_motion's fields) in one transaction.

        One BatchResult per item, in order: `motion` when accepted, else `error` (ValidationFailed,
        QuotaExceeded, ExternalIdTaken, ...); one refused item does not refuse the others. One
        Idempotency-Key covers the whole batch and its retries, so no motion is made twice.
        """
        return calls.read_batch(await self._send(calls.create_motions(items, idempotency_key)))

    async def usage(self, from_: date | None = None, to: date | None = None) -> Usage:
        """Your credits and motions per UTC day and model from `from_` to `to` (inclusive; default: this
        month), and your quota with what is used and reserved (None when you have none)."""
        return calls.read_usage(await self._send(calls.usage(from_, to)))

    async def get_motion(self, motion_id: str) -> Motion:
        """Read a motion."""
        return calls.read_motion(await self._send(calls.get_motion(motion_id)))

    async def wait(self, motion_id: str, timeout: float = 300.0) -> Motion:
        """Read the motion until its status is final (long-polling ?wait=); WaitTimedOut after `timeout` s."""
        deadline = time.monotonic() + timeout
        motion = await self.get_motion(motion_id)
        while not motion.is_terminal:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimedOut(motion, timeout)
            motion = calls.read_motion(await self._send(calls.get_motion(motion_id, wait=left)))
        return motion

    async def list_motions(
        self,
        *,
        status: str | None = None,
        external_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Motion]:
        """Every motion matching the filters, newest first, fetching page after page as you iterate."""
        filters = {
            "status": status,
            "external_id": external_id,
            "created_after": created_after,
            "created_before": created_before,
        }
        cursor: str | None = None
        while True:
            page = await self._send(calls.list_motions(filters, page_size, cursor))
            motions, cursor = calls.read_motion_page(page)
            for motion in motions:
                yield motion
            if not cursor:
                return

    async def cancel(self, motion_id: str) -> Motion:
        """Cancel a queued motion; IllegalTransition (409) once its submission began."""
        return calls.read_motion(await self._send(calls.motion_action(motion_id, "cancel")))

    async def retry(self, motion_id: str) -> Motion:
        """Queue a failed motion again; IllegalTransition (409) unless it failed."""
        return calls.read_motion(await self._send(calls.motion_action(motion_id, "retry")))

    async def history(self, motion_id: str) -> list[StatusChange]:
        """The motion's status changes, oldest first."""
        return calls.read_history(await self._send(Call("GET", calls.motion_path(motion_id, "events"))))

    async def deliveries(self, motion_id: str) -> list[Delivery]:
        """Each callback delivery of the motion, with its attempts."""
        return calls.read_deliveries(await self._send(Call("GET", calls.motion_path(motion_id, "deliveries"))))

    async def redeliver(self, delivery_id: str) -> Delivery:
        """Send that callback again now (same event id)."""
        return calls.read_delivery(await self._send(calls.redeliver(delivery_id)))

    def events(
        self, after: str | None = None, *, page_size: int = 100, follow: bool = False, poll_interval: float = 2.0
    ) -> AsyncEventFeed:
        """Your notification events in order from `after` (`async for`); the feed's `cursor` is where to resume.

        Iteration ends once caught up, unless follow=True (then it polls every poll_interval seconds).
        """
        fetch = functools.partial(self._event_page, page_size=page_size)
        return AsyncEventFeed(fetch, after, page_size, follow, poll_interval)

    async def _event_page(self, after: str | None, page_size: int) -> Page:
        """One page of the feed after a cursor."""
        return calls.read_event_page(await self._send(calls.event_page(after, page_size)))

    async def _send(self, call: Call) -> httpx.Response:
        """Send the call, retrying as the policy allows; a success response, else the matching exception."""
        attempt = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    json=call.body,
                    headers=call.headers,
                    timeout=self.timeout + call.held_for,
                )
            except httpx.TransportError as error:
                outcome = error
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return outcome
            await asyncio.sleep(calls.retry_delay(self.retry_policy, call, attempt, outcome))
            attempt += 1
