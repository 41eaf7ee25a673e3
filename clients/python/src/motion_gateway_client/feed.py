"""Iterators over the pull feed (GET /v1/events) that keep the cursor to resume from."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from motion_gateway_client.models import Event

Page = tuple[list[Event], str]


class _FeedPosition:
    """Events fetched but not yet handed out, and the cursor of the pages fully handed out."""

    def __init__(self, after: str | None, page_size: int, follow: bool, poll_interval: float) -> None:
        self.cursor = after
        self.page_size, self.follow, self.poll_interval = page_size, follow, poll_interval
        self.buffer: deque[Event] = deque()
        self.pending: str | None = None  # the cursor after the page in the buffer
        self.caught_up = False

    def take(self) -> Event:
        """The next event; handing out the last one of a page moves the cursor past that page."""
        event = self.buffer.popleft()
        if not self.buffer:
            self.page_used_up()
        return event

    def page_used_up(self) -> bool:
        """Move the cursor past the page just handed out; True when the feed ends here (not following)."""
        if self.pending is not None:
            self.cursor, self.pending = self.pending, None
        return self.caught_up and not self.follow

    def add(self, page: Page) -> None:
        """Take a fetched page; a short page means the feed is caught up."""
        events, cursor = page
        self.buffer.extend(events)
        self.pending = cursor
        self.caught_up = len(events) < self.page_size

    def pause(self) -> float:
        """Seconds to wait before the next fetch: none while catching up, poll_interval once caught up."""
        return self.poll_interval if self.caught_up else 0.0


class EventFeed(Iterator[Event]):
    """Events in order; `cursor` is where to resume (pass it as `after`) once iteration stopped or paused.

    The cursor moves a whole page at a time, so resuming may repeat events handed out from a page that
    was not finished: de-duplicate on `event.id`, as for callbacks.
    """

    def __init__(
        self,
        fetch: Callable[[str | None], Page],
        after: str | None,
        page_size: int,
        follow: bool = False,
        poll_interval: float = 2.0,
    ) -> None:
        self._fetch = fetch
        self._position = _FeedPosition(after, page_size, follow, poll_interval)

    @property
    def cursor(self) -> str | None:
        """The cursor to resume from (None: from the beginning)."""
        return self._position.cursor

    def __iter__(self) -> EventFeed:
        return self

    def __next__(self) -> Event:
        position = self._position
        while not position.buffer:
            if position.page_used_up():
                raise StopIteration
            if position.pause():
                time.sleep(position.pause())
            position.add(self._fetch(position.cursor))
        return position.take()


class AsyncEventFeed(AsyncIterator[Event]):
    """The async EventFeed: `async for event in feed`, then `feed.cursor` to resume from."""

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[Page]],
        after: str | None,
        page_size: int,
        follow: bool = False,
        poll_interval: float = 2.0,
    ) -> None:
        self._fetch = fetch
        self._position = _FeedPosition(after, page_size, follow, poll_interval)

    @property
    def cursor(self) -> str | None:
        """The cursor to resume from (None: from the beginning)."""
        return self._position.cursor

    def __aiter__(self) -> AsyncEventFeed:
        return self

    async def __anext__(self) -> Event:
        position = self._position
        while not position.buffer:
            if position.page_used_up():
                raise StopAsyncIteration
            if position.pause():
                await asyncio.sleep(position.pause())
            position.add(await self._fetch(position.cursor))
        return position.take()
