"""A throwaway ``redis-server`` for tests: its own port, no persistence, stopped by PID.

::

    with TemporaryRedis(password="s3cret", maxmemory="64mb") as server:
        redis.Redis.from_url(server.url(password="s3cret")).ping()
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

from perfgate.testing import free_port


def find_server() -> str | None:
    """The ``redis-server`` binary, or None if it is not installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


class TemporaryRedis:
    """A private ``redis-server`` on 127.0.0.1 and a free port.

    :param password: ``requirepass`` for the default user, if any.
    :param options: more ``redis-server`` options (``maxmemory="64mb"``).
    """

    def __init__(self, password: str | None = None, **options: str) -> None:
        binary = find_server()
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = binary
        self.password = password
        self.options = options
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None

    def start(self) -> TemporaryRedis:
        """Start the server (again on the same port after :meth:`stop`)."""
        self.folder = Path(tempfile.mkdtemp(prefix="perfgate-redis-"))
        self.port = self.port or free_port()
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log")]
        if self.password is not None:
            args += ["--requirepass", self.password]
        for key, value in self.options.items():
            args += [f"--{key.replace('_', '-')}", value]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server exited at start")
            with contextlib.suppress(redis.RedisError), self.client() as client:
                client.ping()
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10s")

    def url(self, db: int = 0, password: str | None = None) -> str:
        auth = f":{password}@" if password is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        """A client with the server's own password."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, password=self.password,
                           socket_timeout=5)

    def stop(self) -> None:
        """Stop the server by its PID (TERM, then KILL) and remove its folder."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
            self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> TemporaryRedis:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
