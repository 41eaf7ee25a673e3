"""The HTTP session callbacks go out on, one per process."""

import hashlib

import requests

_session: requests.Session | None = None


def http_session() -> requests.Session:
    """A pooled session, created lazily so each forked worker gets its own."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = "motion-gateway-callbacks/1"
        _session.trust_env = False  # callbacks go straight to the caller, never through an environment proxy
    return _session


def hash_url(url: str) -> str:
    """A short stable key for a URL (for locks), revealing nothing of it."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]
