"""What perfgate started dies with perfgate, even when perfgate is killed with SIGKILL.

perfgate stops its services, k6 and worker processes itself on every way out it can see
(success, failure, a plugin crash, SIGINT, SIGTERM, SIGHUP). SIGKILL it cannot see: without
help, a started service keeps its port (the next run refuses to start because the port
answers) and k6 runs its whole load. So the first time something is handed to
:func:`watchdog`, perfgate starts a small watchdog process in a session of its own and tells
it, over a pipe, which process groups, processes and temporary folders are in use. When the
pipe closes without a goodbye (perfgate is gone), the watchdog sends SIGTERM to each, waits
their grace period, sends SIGKILL to what is left and removes the folders. A plain
``PR_SET_PDEATHSIG`` would not do: it reaches only a direct child, not the rest of a
service's process group, and it fires when the *thread* that started the child ends.

Components register what they start and forget it once they stopped it themselves::

    from perfgate import watchdog

    process = subprocess.Popen(argv, start_new_session=True)
    watchdog().add_group(process.pid, grace=10.0)
    ...                                       # stop the group, then
    watchdog().remove_group(process.pid)
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import sys
import threading
from pathlib import Path

#: The watchdog itself: standard library only (``-I -S``), a few megabytes, no perfgate import.
_PROGRAM = r"""
import os, shutil, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
groups, pids, paths = {}, {}, set()
while True:
    line = sys.stdin.buffer.readline()
    if not line:
        break  # the pipe closed: perfgate is gone
    command, _, argument = line.decode().strip().partition(" ")
    if command == "bye":
        sys.exit(0)
    if command in ("group", "pid"):
        number, _, grace = argument.partition(" ")
        (groups if command == "group" else pids)[int(number)] = float(grace or 5)
    elif command == "-group":
        groups.pop(int(argument), None)
    elif command == "-pid":
        pids.pop(int(argument), None)
    elif command == "path":
        paths.add(argument)
    elif command == "-path":
        paths.discard(argument)

def send(sig, target, is_group):
    try:
        (os.killpg if is_group else os.kill)(target, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False

alive = [(t, True, g) for t, g in groups.items() if send(signal.SIGTERM, t, True)]
alive += [(t, False, g) for t, g in pids.items() if send(signal.SIGTERM, t, False)]
started = time.monotonic()
while alive:
    time.sleep(0.05)
    waited = time.monotonic() - started
    still = []
    for target, is_group, grace in alive:
        if not send(0, target, is_group):
            continue
        if waited >= grace:
            send(signal.SIGKILL, target, is_group)
        else:
            still.append((target, is_group, grace))
    alive = still
for path in paths:
    shutil.rmtree(path, ignore_errors=True)
"""


class Watchdog:
    """perfgate's side of the watchdog process: register and forget what was started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    # -- what to watch -------------------------------------------------------------------
    def add_group(self, pgid: int, grace: float = 5.0) -> None:
        """Stop process group ``pgid`` (SIGTERM, SIGKILL after ``grace`` s) if perfgate dies."""
        self._send(f"group {pgid} {grace:g}")

    def remove_group(self, pgid: int) -> None:
        """``pgid`` was stopped (or will be) by perfgate itself."""
        self._send(f"-group {pgid}", start=False)

    def add_pid(self, pid: int, grace: float = 5.0) -> None:
        """Stop process ``pid`` (one that shares perfgate's group) if perfgate dies."""
        self._send(f"pid {pid} {grace:g}")

    def remove_pid(self, pid: int) -> None:
        self._send(f"-pid {pid}", start=False)

    def add_path(self, path: str | Path) -> None:
        """Remove the folder ``path`` if perfgate dies (after the processes are stopped)."""
        self._send(f"path {Path(path).resolve()}")

    def remove_path(self, path: str | Path) -> None:
        self._send(f"-path {Path(path).resolve()}", start=False)

    @property
    def pid(self) -> int | None:
        """The watchdog process's PID, once it runs."""
        return self._process.pid if self._process is not None else None

    # -- the pipe --------------------------------------------------------------------------
    def _send(self, line: str, start: bool = True) -> None:
        if "\n" in line:
            raise ValueError("a watchdog line cannot contain a newline")
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                if not start:
                    return
                self._process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _PROGRAM], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True)
            assert self._process.stdin is not None
            try:
                self._process.stdin.write(line.encode() + b"\n")
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError):  # it died: perfgate still stops things
                self._process = None

    def close(self) -> None:
        """perfgate is exiting normally: the watchdog leaves everything as it is and exits."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            assert process.stdin is not None
            process.stdin.write(b"bye\n")
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


_WATCHDOG: Watchdog | None = None
_CREATE = threading.Lock()


def watchdog() -> Watchdog:
    """The process-wide :class:`Watchdog` (its process starts on first use)."""
    global _WATCHDOG
    with _CREATE:
        if _WATCHDOG is None:
            _WATCHDOG = Watchdog()
            atexit.register(_WATCHDOG.close)
        return _WATCHDOG
