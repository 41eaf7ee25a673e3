"""Fetching image_url for pre-flight: approved addresses only, pinned connections, redirects re-checked, a deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError

from app.notifications.http import host_header, new_session, pinned_to
from app.notifications.url_safety import (
    CALLBACK_SETTING,
    IMAGE_SETTING,
    UnsafeCallbackUrl,
    check_callback_url,
    image_url_refusal,
    parse_allowlist,
)

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 5.0
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HEADERS = {
    "Accept": "image/jpeg, image/png, image/webp;q=0.9, */*;q=0.1",
    "Accept-Encoding": "identity",  # the bytes counted are the image's bytes, never an inflated stream
    "User-Agent": "motion-gateway-preflight/1",
}

_session: requests.Session | None = None


class Unreachable(Exception):
    """The image could not be fetched; `reason` says why in words for the caller."""

    def __init__(self, reason: str):
        """Keep the reason, in words for the caller."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Deadline:
    """When the whole fetch must be over (monotonic clock), and the limit it came from, for messages."""

    at: float
    seconds: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(time.monotonic() + seconds, seconds)

    def left(self) -> float:
        """Seconds until the deadline; Unreachable once it has passed."""
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise self.missed("did not send the whole image")
        return remaining

    def missed(self, what: str) -> Unreachable:
        """The error for a host that `what` within the limit."""
        return Unreachable(f"the image host {what} within {self.seconds:g} s")


def preflight_session() -> requests.Session:
    """The process's pinned-connection session, created lazily so each forked worker gets its own."""
    global _session
    if _session is None:
        _session = new_session()
    return _session


@contextmanager
def open_image(
    url: str, allowed: Sequence[str], deadline: Deadline, session: requests.Session
) -> Iterator[requests.Response]:
    """The 2xx response for url, after at most MAX_REDIRECTS redirects, each target checked like the first."""
    for hop in range(MAX_REDIRECTS + 1):
        addresses = approved_addresses(url, allowed, redirected=hop > 0)
        response = get_first(session, url, addresses, deadline)
        if response.status_code in REDIRECT_STATUSES and response.headers.get("Location"):
            response.close()
            url = redirect_target(url, response.headers["Location"])
            continue
        if not 200 <= response.status_code < 300:
            response.close()
            raise Unreachable(f"the image host answered HTTP {response.status_code}")
        try:
            yield response
        finally:
            response.close()
        return
    raise Unreachable(f"the image address redirects more than {MAX_REDIRECTS} times")


def redirect_target(url: str, location: str) -> str:
    """The absolute URL a Location header points to; Unreachable when it cannot be read as one."""
    try:
        target = urljoin(url, location.strip())
        urlsplit(target).port  # noqa: B018 - raises ValueError on a malformed host or port
    except ValueError:
        raise Unreachable("the image host redirects to an address that cannot be read") from None
    return target


def approved_addresses(url: str, allowed: Sequence[str], redirected: bool) -> list[str]:
    """The resolved addresses url may be fetched from; Unreachable names the rule a refused one breaks."""
    where = f"it redirects to host {urlsplit(url).hostname or '?'}, which is refused: " if redirected else ""
    refusal = image_url_refusal(url, allowed)
    if refusal:
        raise Unreachable(f"{where or 'image_url '}{refusal}")
    try:
        return check_callback_url(url, parse_allowlist(allowed, IMAGE_SETTING))
    except UnsafeCallbackUrl as exc:
        # check_callback_url names the callbacks' allowlist in its reasons; here the image one applies.
        raise Unreachable(where + exc.reason.replace(CALLBACK_SETTING, IMAGE_SETTING)) from None


def get_first(session: requests.Session, url: str, addresses: list[str], deadline: Deadline) -> requests.Response:
    """GET url from the first approved address that takes the connection (never a fresh DNS lookup)."""
    failure = "no address of the image host accepted a connection"
    for address in addresses:
        remaining = deadline.left()
        try:
            with pinned_to(address):
                return session.get(
                    url, headers={**HEADERS, "Host": host_header(url)}, stream=True, allow_redirects=False,
                    timeout=(min(CONNECT_TIMEOUT, remaining), remaining),
                )  # fmt: skip
        except requests.ConnectTimeout:
            failure = f"the image host did not accept a connection within {min(CONNECT_TIMEOUT, remaining):.3g} s"
        except requests.Timeout:
            raise deadline.missed("did not answer") from None
        except requests.ConnectionError as exc:
            if not isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), NewConnectionError):
                raise Unreachable("the connection to the image host failed") from None
            failure = "the image host refused the connection"
        except requests.RequestException as exc:
            raise Unreachable(f"the request for the image failed ({exc.__class__.__name__})") from None
    raise Unreachable(failure)


def read_chunks(response: requests.Response, deadline: Deadline) -> Iterator[bytes]:
    """The body as it arrives, each socket read bounded by the time left, so a trickling host cannot outlast it."""
    while True:
        tighten_read_timeout(response, deadline.left())
        try:
            chunk = response.raw.read1(CHUNK_BYTES, decode_content=False)
        except (Urllib3Error, OSError) as exc:
            if time.monotonic() >= deadline.at or "timed out" in str(exc).lower():
                raise deadline.missed("did not send the whole image") from None
            raise Unreachable("the connection broke off before the whole image arrived") from None
        if not chunk:
            return
        yield chunk


def tighten_read_timeout(response: requests.Response, seconds: float) -> None:
    """Make the next socket read give up when the deadline comes (urllib3's timeout was set at request time)."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)
