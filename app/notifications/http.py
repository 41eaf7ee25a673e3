"""The HTTP session callbacks go out on, one per process, connecting only to addresses the URL check approved."""

import contextvars
import hashlib
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

_session: requests.Session | None = None
# The checked address the current request must connect to; set around each send by pinned_to().
_pinned: contextvars.ContextVar[str | None] = contextvars.ContextVar("pinned_address", default=None)


class UnpinnedRequest(RuntimeError):
    """A request on the callbacks session without a checked address: refused rather than resolved again."""


class PinnedAdapter(HTTPAdapter):
    """Connects to the pinned address instead of resolving the URL's host again.

    The connection pool is keyed by that address, so a kept-alive connection is only reused for the same
    checked address. TLS still sends the URL's host as SNI and verifies the certificate against it
    (urllib3's `server_hostname`, which is also the default for `assert_hostname`).
    """

    def build_connection_pool_key_attributes(self, request, verify, cert=None) -> tuple[dict, dict]:
        """requests' pool key with the host swapped for the pinned address."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        address = _pinned.get()
        if address is None:
            raise UnpinnedRequest("callback requests must go through pinned_to(address)")
        if host_params["scheme"] == "https" and not _is_address(host_params["host"]):
            pool_kwargs["server_hostname"] = host_params["host"]
        host_params["host"] = address
        return host_params, pool_kwargs


def http_session() -> requests.Session:
    """The process's pooled session, created lazily so each forked worker gets its own."""
    global _session
    if _session is None:
        _session = new_session()
    return _session


def new_session() -> requests.Session:
    """A session that connects only to pinned addresses, through no proxy."""
    session = requests.Session()
    session.headers["User-Agent"] = "motion-gateway-callbacks/1"
    session.trust_env = False  # callbacks go straight to the caller, never through an environment proxy
    session.mount("http://", PinnedAdapter())
    session.mount("https://", PinnedAdapter())
    return session


@contextmanager
def pinned_to(address: str) -> Iterator[None]:
    """Requests made inside connect to this (already checked) address only."""
    token = _pinned.set(address)
    try:
        yield
    finally:
        _pinned.reset(token)


def host_header(url: str) -> str:
    """The Host header the URL implies (its host and any explicit port, without userinfo)."""
    return urlsplit(url).netloc.rpartition("@")[2]


def hash_url(url: str) -> str:
    """A short stable key for a URL (for locks), revealing nothing of it."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def _is_address(host: str) -> bool:
    """Whether a URL host is an IP literal (then SNI carries no name)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False
