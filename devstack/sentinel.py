"""A Redis Sentinel group on loopback: one master, one replica and three sentinels, for tests and chaos runs.

Every server runs `redis-server` (a sentinel is `redis-server <conf> --sentinel`) on a free port with its
own temporary folder, and fails over fast (down-after 1 s), so a test can force `SENTINEL FAILOVER` and
watch the service follow it.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import redis

from devstack.redis import command, free_port, redis_server_binary, wait_for

SERVICE = "mg-test"
SENTINELS = 3
QUORUM = 2
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


class SentinelGroup:
    """Start with `start()` (or `with`), stop with `stop()`; `url` is the service's REDIS_URL."""

    def __init__(self, service: str = SERVICE, password: str | None = None, db: int = 0):
        self.service = service
        self.password = password
        self.db = db
        self.data_ports = [free_port(), free_port()]  # master first, then the replica
        self.sentinel_ports = [free_port() for _ in range(SENTINELS)]
        self._dir = tempfile.TemporaryDirectory(prefix="mg-sentinel-")
        self._processes: list[subprocess.Popen] = []
        self.failovers = 0

    @property
    def url(self) -> str:
        """`redis+sentinel://[:password@]127.0.0.1:p1,.../SERVICE/DB`."""
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{auth}{hosts}/{self.service}/{self.db}"

    def start(self) -> SentinelGroup:
        """Start the master, the replica and the sentinels; return once the sentinels see both servers."""
        try:
            for n, port in enumerate(self.data_ports):
                self._start_server(port, replica_of=self.data_ports[0] if n else None)
            self._wait_replicated()
            for port in self.sentinel_ports:
                self._start_sentinel(port)
            self._wait_sentinels_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _folder(self, name: str) -> str:
        folder = Path(self._dir.name) / name
        folder.mkdir()
        return str(folder)

    def _start_server(self, port: int, replica_of: int | None) -> None:
        cmd = command(port, self._folder(f"redis-{port}")) + ["--repl-diskless-sync-delay", "0"]
        if replica_of:
            cmd += ["--replicaof", "127.0.0.1", str(replica_of)]
        if self.password:
            cmd += ["--requirepass", self.password, "--masterauth", self.password]
        process = self._spawn(cmd)
        wait_for(f"redis://{self._auth()}127.0.0.1:{port}/0", process)

    def _start_sentinel(self, port: int) -> None:
        folder = self._folder(f"sentinel-{port}")
        conf = Path(folder) / "sentinel.conf"
        lines = [
            "bind 127.0.0.1",
            f"port {port}",
            f"dir {folder}",
            f"sentinel monitor {self.service} 127.0.0.1 {self.data_ports[0]} {QUORUM}",
            f"sentinel down-after-milliseconds {self.service} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {self.service} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {self.service} 1",
        ]
        if self.password:
            lines += [f"sentinel auth-pass {self.service} {self.password}", f"requirepass {self.password}"]
        conf.write_text("\n".join(lines) + "\n")  # a sentinel rewrites its own config file as things change
        process = self._spawn([redis_server_binary(), str(conf), "--sentinel"])
        wait_for(f"redis://{self._auth()}127.0.0.1:{port}/0", process)

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._processes.append(process)
        return process

    def _auth(self) -> str:
        return f":{self.password}@" if self.password else ""

    def client(self, port: int) -> redis.Redis:
        """A plain client of one server or sentinel of the group."""
        return redis.Redis(host="127.0.0.1", port=port, password=self.password, socket_timeout=2)

    def _wait_replicated(self, seconds: float = 20.0) -> None:
        replica = self.client(self.data_ports[1])
        _until(lambda: replica.info("replication").get("master_link_status") == "up", seconds, "the replica to sync")

    def _wait_sentinels_ready(self, seconds: float = 30.0) -> None:
        def ready() -> bool:
            for port in self.sentinel_ports:
                state = self.client(port).sentinel_master(self.service)
                if state.get("num-slaves", 0) < 1 or state.get("num-other-sentinels", 0) < SENTINELS - 1:
                    return False
            return True

        _until(ready, seconds, "the sentinels to see the replica and each other")

    def master_port(self) -> int:
        """The port of the master the sentinels name now."""
        return int(self.client(self.sentinel_ports[0]).sentinel_get_master_addr_by_name(self.service)[1])

    def failover(self, seconds: float = 30.0) -> int:
        """Force `SENTINEL FAILOVER` and wait until the sentinels name the new master; returns its port."""
        old = self.master_port()
        self.client(self.sentinel_ports[0]).sentinel_failover(self.service)
        self.failovers += 1
        _until(lambda: self.master_port() != old, seconds, "the sentinels to name a new master")
        return self.master_port()

    def wait_settled(self, seconds: float = 30.0) -> None:
        """Wait until the old master has become a replica of the new one and every sentinel agrees."""
        master = self.master_port()
        replica = next(port for port in self.data_ports if port != master)

        def settled() -> bool:
            role = self.client(replica).info("replication")
            same = {self.client(p).sentinel_get_master_addr_by_name(self.service)[1] for p in self.sentinel_ports}
            return role.get("role") == "slave" and role.get("master_link_status") == "up" and same == {master}

        _until(settled, seconds, "the old master to follow the new one")

    def stop(self) -> None:
        """Stop every server and sentinel and remove their folders."""
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._processes.clear()
        self._dir.cleanup()

    def __enter__(self) -> SentinelGroup:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _until(check, seconds: float, what: str) -> None:
    """Poll check() until it is true; RuntimeError naming what never happened."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"waited {seconds:g} s for {what}")
