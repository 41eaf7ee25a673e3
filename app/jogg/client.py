"""JoggClient: JoggAI's v2 API for motions, credits, voices and webhook endpoints, over requests."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import requests

from app.jogg.envelope import transport_error, unwrap
from app.jogg.errors import JoggError, RetryableError, scrub
from app.jogg.models import (
    AddMotionResult,
    Endpoint,
    MotionStatus,
    PhotoAvatar,
    Voice,
    as_int,
    avatar_page,
    endpoint_list,
    voice_page,
)

log = logging.getLogger(__name__)
USER_AGENT = "motion-gateway (JoggClient)"
LIST_PAGE_SIZE, LIST_MAX_PAGES = 100, 10
VOICE_MAX_PAGES = 50  # 5,000 voices; JoggAI's library is far smaller


class JoggClient:
    """Calls JoggAI once per method and raises a JoggError subclass on any failure.

    It never retries: a retried add_motion can create and charge a second motion, so the
    caller decides, using the error's class (RetryableError, UnknownOutcome, ...).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        """A client for one JoggAI account, with its timeouts."""
        if not api_key:
            raise ValueError("api_key is required")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        """Where it points; never the key."""
        return f"JoggClient(base_url={self.base_url!r})"

    def add_motion(
        self,
        *,
        image_url: str,
        name: str,
        voice_id: str,
        model: str,
        photo_id: str | None = None,
        description: str | None = None,
        welcome_msg: str | None = None,
    ) -> AddMotionResult:
        """Submit a motion (a rate-limited, credit-spending POST); optional fields left None are not sent."""
        fields = {
            "image_url": image_url,
            "name": name,
            "voice_id": voice_id,
            "model": model,
            "photo_id": photo_id,
            "description": description,
            "welcome_msg": welcome_msg,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        return AddMotionResult.from_data(self._call("POST", "/v2/photo_avatar/add_motion", json=body))

    def motion_status(self, motion_id: str) -> MotionStatus:
        """Check one motion (a GET: not rate limited, but poll politely)."""
        data = self._call("GET", "/v2/photo_avatar", params={"motion_id": motion_id})
        return MotionStatus.from_data(data, motion_id)

    def photo_avatars(self, name: str) -> list[PhotoAvatar]:
        """The account's photo avatars named exactly `name` (JoggAI's filter is a search: the rest are dropped).

        Reads up to LIST_MAX_PAGES pages of LIST_PAGE_SIZE; more than that raises RetryableError, since an
        incomplete list is no evidence of absence.
        """
        found: list[PhotoAvatar] = []
        for page in range(1, LIST_MAX_PAGES + 1):
            params = {"name": name, "page": page, "page_size": LIST_PAGE_SIZE}
            entries, total = avatar_page(self._call("GET", "/v2/avatars/photo_avatars", params=params))
            found.extend(entry for entry in entries if entry.name == name)
            if len(entries) < LIST_PAGE_SIZE or (total is not None and page * LIST_PAGE_SIZE >= total):
                return found
        raise RetryableError(f"photo-avatar list for {name!r} is longer than {LIST_MAX_PAGES} pages")

    def remaining_quota(self) -> int:
        """Credits left on the account."""
        data = self._call("GET", "/v2/user/remaining_quota")
        quota = as_int(data.get("remaining_quota") if isinstance(data, dict) else data)
        if quota is None:
            raise RetryableError("remaining_quota answer without a number")
        return quota

    def voices(self) -> list[Voice]:
        """Every voice of JoggAI's library (`GET /v2/voices`, all pages)."""
        return self._voice_list("/v2/voices", custom=False)

    def custom_voices(self) -> list[Voice]:
        """Every custom (cloned) voice of the account (`GET /v2/voices/custom`, all pages)."""
        return self._voice_list("/v2/voices/custom", custom=True)

    def _voice_list(self, path: str, custom: bool) -> list[Voice]:
        """Page through one voice list; more than VOICE_MAX_PAGES pages raises RetryableError (incomplete)."""
        found: list[Voice] = []
        for page_number in range(1, VOICE_MAX_PAGES + 1):
            params = {"page": page_number, "page_size": LIST_PAGE_SIZE}
            page = voice_page(self._call("GET", path, params=params), custom)
            found.extend(page.voices)
            if last_page(page.has_more, len(page.voices), page.total, page_number * LIST_PAGE_SIZE):
                return found
        raise RetryableError(f"voice list {path} is longer than {VOICE_MAX_PAGES} pages")

    def create_endpoint(self, url: str, events: Iterable[str], status: str = "enabled") -> Endpoint:
        """Register a webhook endpoint (a rate-limited POST); the answer carries its secret."""
        body = {"url": url, "events": list(events), "status": status}
        return Endpoint.from_data(self._call("POST", "/v2/endpoint", json=body))

    def list_endpoints(self) -> list[Endpoint]:
        """Every registered endpoint, each with its secret (JoggAI lists them, 2026-11)."""
        return endpoint_list(self._call("GET", "/v2/endpoints"))

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove a webhook endpoint."""
        self._call("DELETE", f"/v2/endpoint/{endpoint_id}")

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One HTTP call; returns the envelope's data or raises a JoggError free of the key."""
        operation = f"{method} {path}"
        creates = method == "POST"  # only POSTs create things that a lost answer could hide
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                headers={"x-api-key": self._api_key, "Accept": "application/json", "User-Agent": USER_AGENT},
                timeout=self.timeout,
                allow_redirects=False,  # a redirected POST would turn into a GET
                **kwargs,
            )
        except requests.RequestException as error:
            # `from None`: the requests exception holds the request, and with it the key header.
            raise scrub(transport_error(error, operation, creates), self._api_key) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug("JoggAI %s: HTTP %s in %.0f ms", operation, response.status_code, elapsed_ms)
        try:
            return unwrap(response, operation, creates)
        except JoggError as error:
            raise scrub(error, self._api_key) from None


def last_page(has_more: bool | None, count: int, total: int | None, seen: int) -> bool:
    """Whether a list page is the last: JoggAI's has_more when given, else a short page or the total reached."""
    if count == 0:
        return True
    if has_more is not None:
        return not has_more
    return count < LIST_PAGE_SIZE or (total is not None and seen >= total)
