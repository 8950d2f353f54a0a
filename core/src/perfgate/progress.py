"""A live progress line on stderr: elapsed time, requests, errors, VUs of the running scenario."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Drivers call :meth:`update`; a thread redraws one line every ``interval`` seconds.

    On a terminal the line is redrawn in place; elsewhere (CI logs) a line is printed every
    ``log_interval`` seconds so long runs still show they are alive.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.5,
                 log_interval: float = 10.0, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if self.tty else log_interval
        self.enabled = enabled
        self._lock = threading.Lock()
        self._state: dict[str, object] = {}
        self._scenario: str | None = None
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_scenario(self, name: str, planned: float | None = None) -> None:
        with self._lock:
            self._scenario = name
            self._state = {"planned": planned}
            self._started = time.monotonic()
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="perfgate-progress",
                                            daemon=True)
            self._thread.start()

    def update(self, **values: object) -> None:
        """Set counters for the live line: ``requests=``, ``errors=``, ``vus=``, ``note=``."""
        with self._lock:
            self._state.update(values)

    def line(self) -> str:
        with self._lock:
            state = dict(self._state)
            scenario = self._scenario
            elapsed = time.monotonic() - self._started
        planned = state.pop("planned", None)
        parts = [f"[{scenario}]", f"{elapsed:6.1f}s" + (f"/{planned:.0f}s" if planned else "")]
        requests = state.pop("requests", None)
        if isinstance(requests, int | float):
            rate = requests / elapsed if elapsed > 0 else 0.0
            parts.append(f"{int(requests)} reqs ({rate:.0f}/s)")
        for key, value in state.items():
            if value is not None:
                parts.append(f"{key} {value}")
        return " ".join(parts)

    def finish_scenario(self) -> None:
        if self.enabled and self.tty:
            self._write("\r\x1b[2K")
        with self._lock:
            self._scenario = None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.enabled and self.tty:
            self._write("\r\x1b[2K")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self._scenario is None:
                continue
            text = self.line()
            self._write(f"\r\x1b[2K{text}" if self.tty else text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
