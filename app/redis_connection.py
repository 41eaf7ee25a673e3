"""The one place Redis connections are made: plain `redis://` URLs, or a Sentinel-watched master.

`redis+sentinel://[:password@]host:port[,host:port...]/SERVICE[/DB]` names the sentinels, the service
they watch and the database number. A client made here asks the sentinels for the service's master
before each new connection and retries a command that failed because the master went away or was
demoted (redis-py turns a demoted master's READONLY into a ConnectionError, drops the connection and
asks the sentinels again), so a failover is followed without a restart.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

import redis
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379
MAX_DB = 2**31 - 1
SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?")
# A sentinel that does not answer is skipped at once (no retry of its own): the next one on the list may.
SENTINEL_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
# A command is tried again on a lost or demoted master, spaced out to cover a forced failover's switch
# (at most about 4.5 s of waiting in all); a master that stays unknown longer is an error the caller handles.
FAILOVER_RETRIES, FAILOVER_BACKOFF_BASE, FAILOVER_BACKOFF_CAP = 6, 0.1, 1.0
# How often a busy client re-asks the sentinels who the master is (see MasterFollowingPool).
MASTER_CHECK_INTERVAL = 0.5


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def hosts(self) -> str:
        """The sentinels as `host:port,host:port` (IPv6 hosts in brackets)."""
        return ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)

    def userinfo(self) -> str:
        """`user:password@` (percent-encoded), or empty without credentials."""
        if self.password is None and self.username is None:
            return ""
        password = f":{quote(self.password, safe='')}" if self.password is not None else ""
        return f"{quote(self.username or '', safe='')}{password}@"


def is_sentinel(url: str) -> bool:
    """Whether the URL names a Sentinel group rather than one Redis server."""
    return url.lower().startswith(SENTINEL_SCHEME + "://")


def check_url(url: str) -> str:
    """REDIS_URL checked at start-up: a plain Redis URL or a valid Sentinel URL, else ValueError."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == SENTINEL_SCHEME:
        parse_sentinel_url(url)
    elif scheme not in PLAIN_SCHEMES:
        raise ValueError("REDIS_URL must start with redis://, rediss://, unix:// or redis+sentinel://")
    return url


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Split a `redis+sentinel://` URL into its parts, with a clear ValueError for anything malformed."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() != SENTINEL_SCHEME:
        raise ValueError("a Sentinel REDIS_URL starts with redis+sentinel://")
    if any(c in rest for c in "?#") or any(ord(c) < 33 or ord(c) == 127 for c in rest):
        raise ValueError("REDIS_URL (Sentinel) takes no query, fragment, spaces or control characters")
    netloc, slash, path = rest.partition("/")
    if not slash:
        raise ValueError("REDIS_URL (Sentinel) needs the service name: redis+sentinel://host:port/SERVICE")
    userinfo, at, hosts = netloc.rpartition("@")
    username, password = _credentials(userinfo) if at else (None, None)
    service, db = _service_and_db(path)
    return SentinelUrl(_sentinels(hosts), service, db, username, password)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    """(username, password) from `[user]:password`, percent-decoded."""
    user, colon, password = userinfo.partition(":")
    if not colon:
        raise ValueError("REDIS_URL (Sentinel) credentials are written :password@ (or user:password@)")
    return (unquote(user) or None), unquote(password)


def _sentinels(hosts: str) -> tuple[tuple[str, int], ...]:
    """The `host:port,...` list; at least one."""
    if not hosts:
        raise ValueError("REDIS_URL (Sentinel) names no sentinel: redis+sentinel://host:port[,host:port]/SERVICE")
    return tuple(_host_port(entry, n) for n, entry in enumerate(hosts.split(","), start=1))


def _host_port(entry: str, n: int) -> tuple[str, int]:
    """The n-th `host[:port]` or `[v6]:port` entry (errors never quote it: a mistyped password may be in it)."""
    if entry.startswith("["):
        host, bracket, tail = entry[1:].partition("]")
        if not bracket or not host or not re.fullmatch(r"[0-9A-Fa-f:.]+", host):
            raise ValueError(f"REDIS_URL (Sentinel): sentinel {n} is not a valid [IPv6]:port address")
        port = tail[1:] if tail.startswith(":") else ("" if not tail else None)
    else:
        host, _, port = entry.partition(":")
        if not HOST_NAME.fullmatch(host):
            raise ValueError(f"REDIS_URL (Sentinel): sentinel {n} has no valid host name")
    if port is None:
        raise ValueError(f"REDIS_URL (Sentinel): sentinel {n} is not a valid [IPv6]:port address")
    if port == "":
        return host, DEFAULT_SENTINEL_PORT
    if not port.isdigit() or not port.isascii() or not 1 <= int(port) <= 65535:
        raise ValueError(f"REDIS_URL (Sentinel): the port of sentinel {n} must be a number from 1 to 65535")
    return host, int(port)


def _service_and_db(path: str) -> tuple[str, int]:
    """SERVICE[/DB] from the URL's path."""
    service, slash, db = path.partition("/")
    if not SERVICE_NAME.fullmatch(service):
        raise ValueError("REDIS_URL (Sentinel): the service name must be letters, digits, '.', '_' or '-'")
    if not slash or db == "":
        return service, 0
    if not (db.isdigit() and db.isascii()) or int(db) > MAX_DB:
        raise ValueError("REDIS_URL (Sentinel): the database after the service must be a number")
    return service, int(db)


class MasterConnection(SentinelManagedConnection):
    """A connection to the master the sentinels name, tried once per connect: the command's retry spaces the tries.

    (redis-py would retry the connect inside each retried command too, multiplying the tries and the wait.)
    """

    def connect(self):
        """Ask the sentinels for the master and connect to it, once."""
        return self._connect_retry()

    def read_response(self, *args, disconnect_on_error: bool = True, **kwargs):
        """Read a reply; a read cut short (a signal, a job timeout) closes the connection, as on a plain one.

        redis-py's Sentinel connection keeps it open by default, so the interrupted command's reply would be
        read as the answer to the next command sent on it.
        """
        return super().read_response(*args, disconnect_on_error=disconnect_on_error, **kwargs)


class MasterFollowingPool(SentinelConnectionPool):
    """A Sentinel pool that re-asks the sentinels for the master every MASTER_CHECK_INTERVAL while in use.

    redis-py's own pool asks only when it opens a connection, so after `SENTINEL FAILOVER` its open
    connections keep writing to the old master until Sentinel demotes it (about 10-15 s), and those
    writes are then lost. This pool notices the new master within MASTER_CHECK_INTERVAL and closes
    connections to the old one before they are used again.
    """

    def __init__(self, service_name, sentinel_manager, **kwargs):
        kwargs.setdefault("connection_class", MasterConnection)
        super().__init__(service_name, sentinel_manager, **kwargs)
        self._checked_at = 0.0
        self._check_lock = threading.Lock()

    def get_connection(self, *args, **kwargs):
        """A connection to the current master (a pooled one to a former master is closed first)."""
        master = self._current_master()
        connection = super().get_connection(*args, **kwargs)
        if master and connection.host and (connection.host, connection.port) != master:
            connection.disconnect()  # it reconnects on first use, asking the sentinels
        return connection

    def _current_master(self) -> tuple[str, int] | None:
        """The master's address, from the sentinels at most every MASTER_CHECK_INTERVAL."""
        now = time.monotonic()
        if now - self._checked_at >= MASTER_CHECK_INTERVAL and self._check_lock.acquire(blocking=False):
            try:
                self._checked_at = now
                self.get_master_address()  # closes idle connections if the master changed
            except (redis.ConnectionError, redis.TimeoutError):
                pass  # the sentinels cannot say now: keep the connection we have
            finally:
                self._check_lock.release()
        return self.master_address


def follows_sentinel(connection: redis.Redis | None) -> bool:
    """Whether this client finds its master through Sentinel."""
    return isinstance(getattr(connection, "connection_pool", None), SentinelConnectionPool)


def failover_retry() -> Retry:
    """Retry on connection errors with backoff long enough to outlast a failover."""
    backoff = ExponentialWithJitterBackoff(base=FAILOVER_BACKOFF_BASE, cap=FAILOVER_BACKOFF_CAP)
    return Retry(backoff, FAILOVER_RETRIES)


def connect(url: str, **options) -> redis.Redis:
    """A Redis client that fails fast instead of hanging a request, following the master under Sentinel."""
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 5)
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    options.setdefault("retry", failover_retry())
    sentinel = Sentinel(
        list(parsed.sentinels),
        sentinel_kwargs={**SENTINEL_TIMEOUTS, "retry": Retry(NoBackoff(), 0), **_auth(parsed)},
        db=parsed.db,
        **_auth(parsed),
        **options,
    )
    return sentinel.master_for(parsed.service, connection_pool_class=MasterFollowingPool)


def _auth(parsed: SentinelUrl) -> dict:
    """The URL's credentials as redis-py keyword arguments (for the sentinels and the servers alike)."""
    return {k: v for k, v in (("username", parsed.username), ("password", parsed.password)) if v is not None}


def limits_storage(url: str) -> tuple[str, dict]:
    """(storage URI, options) for the `limits` library: the same server, or the same Sentinel master.

    Under Sentinel the budget gets a client of its own from `connect`, handed to `limits` as a connection
    pool: `limits`' own `redis+sentinel://` storage would not carry the database number and would keep
    writing to a former master until Sentinel demotes it.
    """
    if not is_sentinel(url):
        return url, {}
    return "redis://", {"connection_pool": connect(url).connection_pool}
