"""Start the demo service as a real process on a free port and talk HTTP to it."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

STARTUP_TIMEOUT = 15.0


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DemoProcess:
    """A running ``python -m demo_app`` and what it printed."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str | None]
    output: list[str] = field(default_factory=list)
    url: str = ""
    db_path: Path | None = None

    def read_line(self, timeout: float) -> str | None:
        """The next output line, or None at end of output; fails after ``timeout``."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"demo_app printed nothing for {timeout}s; so far: {self.output}")
        if line is not None:
            self.output.append(line)
        return line

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.url:
            line = self.read_line(max(0.1, deadline - time.monotonic()))
            if line is None:
                pytest.fail(f"demo_app exited with {self.proc.wait()}: {self.output}")
            if m := re.search(r"database (\S+) ", line):
                self.db_path = Path(m.group(1))
            if m := re.search(r"listening on (http://\S+)", line):
                self.url = m.group(1)

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        """Send one request and return the answer, whatever its status."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json",
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, dict(exc.headers), exc.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def metrics(self) -> dict[str, float]:
        """``/metrics`` (the Prometheus text format) as ``{'name{labels}': value}``."""
        text = self.get("/metrics").body.decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    def send(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the process group, wait, and return the exit code (SIGKILL if stuck)."""
        if self.proc.poll() is None:
            self.send(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                pytest.fail(f"demo_app did not stop within {timeout}s of {sig!r}")
        while self.read_line(5.0) is not None:
            pass
        return self.proc.returncode


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def launch(*args: str, env: dict[str, str] | None = None) -> DemoProcess:
    """Start ``python -m demo_app --port 0 ARGS`` in its own process group; wait until ready.

    ``env``: more environment variables for the service.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo_app", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, **(env or {})})
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    demo = DemoProcess(proc, lines)
    try:
        demo.wait_ready()
    except BaseException:
        _kill(demo)
        raise
    return demo


def _kill(demo: DemoProcess) -> None:
    if demo.proc.poll() is None:
        os.killpg(demo.proc.pid, signal.SIGKILL)
        demo.proc.wait()


@pytest.fixture
def start_demo() -> Iterator[Any]:
    """A factory ``start_demo(*args, env=None) -> DemoProcess``; every process is stopped after."""
    started: list[DemoProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> DemoProcess:
        demo = launch(*args, env=env)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        if demo.proc.poll() is None:
            demo.stop()
        _kill(demo)


@pytest.fixture
def demo(start_demo: Any) -> DemoProcess:
    """A fresh demo service with 25 seeded records."""
    return start_demo("--seed", "25")
