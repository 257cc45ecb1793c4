"""A private redis-server on a free loopback port, for tests that restart Redis or need its
persistence settings: the machine's shared Redis is never restarted or reconfigured by a test."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.gunicorn import free_port


class RedisServer:
    def __init__(self, appendonly: bool = True, directory: Path | None = None):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed; Redis tests skipped")
        self.appendonly = appendonly
        self.directory = Path(directory or tempfile.mkdtemp(prefix="cds-redis-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory)]
        args += ["--save", "", "--appendonly", "yes" if self.appendonly else "no"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("private redis-server did not start within 10 s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: Redis writes what it persists, then exits)."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


_shared: RedisServer | None = None


def shared_redis_url() -> str:
    """One private Redis with persistence on (as the service requires) for the whole test session."""
    global _shared
    if _shared is None:
        _shared = RedisServer(appendonly=True).start()
        atexit.register(_shared.stop)
    return _shared.url
