"""Locust's processes: the master and local workers, one process group, never left running.

The master starts a process group of its own (its PID) and the local workers join it, so
one ``killpg`` reaches them all, also a worker whose master has already gone; a terminal's
Ctrl-C reaches perfgate only, which stops them the graceful way. Each process writes its log
to a file of its own. perfgate runs Locust as a separate program: importing locust would
monkey-patch perfgate's own process with gevent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import deque
from pathlib import Path


def locust_command(path: str | None) -> list[str]:
    """How to run Locust: ``path`` if given, else the ``locust`` installed beside perfgate."""
    return [path] if path else [sys.executable, "-m", "locust"]


class LocustProcess:
    """One ``locust`` process with its log file."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path,
                 group: int | None = None) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, process_group=group or 0)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def tail(self, lines: int = 8) -> str:
        """The last lines of the log, on one line."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        kept = deque((line.strip() for line in text.splitlines() if line.strip()), lines)
        return " | ".join(kept)


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group that may be gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def reap(processes: list[LocustProcess], timeout: float = 10.0) -> None:
    """Wait for processes that were killed, so none is left a zombie."""
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.proc.wait(timeout)
