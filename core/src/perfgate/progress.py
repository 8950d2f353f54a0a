"""The live progress display on stderr: every running scenario, its load and its numbers.

One row per running scenario: its name, elapsed and planned time, requests (and their rate),
failed requests, VUs, and the live p95 latency and error rate. The numbers come from the
metrics drivers publish (``http.reqs``, ``http.req_failed``, ``http.req_duration``, ``vus``
tagged with the scenario); a driver that publishes none can still say
``context.progress.update(requests=..., errors=..., vus=...)``.

On a terminal the rows are a table redrawn in place (``rich``); elsewhere (a CI log) a plain
line per running scenario is printed every ``log_interval`` seconds, so a long run still shows
it is alive.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from perfgate.units import format_value

if TYPE_CHECKING:
    from perfgate.live import LiveRun


@dataclass
class Row:
    """What the display shows about one running scenario."""

    scenario: str
    elapsed: float
    planned: float | None = None
    requests: float | None = None
    errors: float | None = None
    vus: float | None = None
    p95: float | None = None
    error_rate: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def request_rate(self) -> float | None:
        if self.requests is None or self.elapsed <= 0:
            return None
        return self.requests / self.elapsed

    def cells(self) -> list[str]:
        """The row as text cells: scenario, time, requests, errors, VUs, p95, error rate."""
        when = f"{self.elapsed:.1f}s" + (f"/{self.planned:.0f}s" if self.planned else "")
        reqs = "-"
        if self.requests is not None:
            reqs = f"{int(self.requests)} ({self.request_rate or 0:.0f}/s)"
        return [self.scenario, when, reqs,
                "-" if self.errors is None else str(int(self.errors)),
                "-" if self.vus is None else str(int(self.vus)),
                "-" if self.p95 is None else format_value(self.p95, "ms"),
                "-" if self.error_rate is None else format_value(self.error_rate, "ratio")]

    def line(self) -> str:
        """The row as one plain line: ``[load] 12.0s/30s 1200 reqs (100/s) ...``."""
        name, when, reqs, errors, vus, p95, rate = self.cells()
        parts = [f"[{name}]", when]
        if self.requests is not None:
            parts.append(reqs.replace(" (", " reqs ("))
        for label, text in (("errors", errors), ("vus", vus), ("p95", p95),
                            ("error rate", rate)):
            if text != "-":
                parts.append(f"{label} {text}")
        parts.extend(f"{key} {value}" for key, value in self.extra.items() if value is not None)
        return " ".join(parts)


HEADERS = ("scenario", "time", "requests", "errors", "VUs", "p95", "error rate")


class Progress:
    """Tracks the running scenarios and draws them; drivers call :meth:`update`.

    :meth:`update` is about the scenario the calling thread runs (the run binds each
    scenario's thread with :meth:`bind`), or the one named with ``scenario=``.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.5,
                 log_interval: float = 10.0, enabled: bool = True,
                 live: LiveRun | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if self.tty else log_interval
        self.enabled = enabled
        self.live = live
        self._lock = threading.Lock()
        self._local = threading.local()
        self._states: dict[str, dict[str, Any]] = {}
        self._started: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._display: Any = None
        self._begun = False

    # -- what drivers and the run say ------------------------------------------------------
    def bind(self, scenario: str) -> None:
        """Updates from the calling thread are about ``scenario`` from now on."""
        self._local.scenario = scenario

    def start_scenario(self, name: str, planned: float | None = None) -> None:
        with self._lock:
            self._states[name] = {"planned": planned}
            self._started[name] = time.monotonic()
        if self.enabled:
            self._begin()

    def update(self, **values: object) -> None:
        """Set values for the running scenario: ``planned=`` (seconds of load),
        ``requests=``, ``errors=``, ``vus=``, ``note=``; ``scenario=`` names it when the
        caller is not the scenario's own thread."""
        scenario = values.pop("scenario", None) or getattr(self._local, "scenario", None)
        if scenario is None:
            with self._lock:  # one scenario running: it is the one meant
                if len(self._states) != 1:
                    return
                scenario = next(iter(self._states))
        with self._lock:
            state = self._states.get(str(scenario))
            if state is not None:
                state.update(values)

    def finish_scenario(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                name = getattr(self._local, "scenario", None)
            self._states.pop(str(name), None)
            self._started.pop(str(name), None)

    # -- what is shown ---------------------------------------------------------------------
    def rows(self) -> list[Row]:
        """One row per running scenario, in the order they started."""
        with self._lock:
            states = {name: dict(state) for name, state in self._states.items()}
            started = dict(self._started)
        now = time.monotonic()
        return [self._row(name, state, now - started[name]) for name, state in states.items()]

    def _row(self, name: str, state: dict[str, Any], elapsed: float) -> Row:
        row = Row(name, elapsed, planned=state.pop("planned", None))
        for key in ("requests", "errors", "vus"):
            value = state.pop(key, None)
            if isinstance(value, int | float):
                setattr(row, key, value)
        row.extra = state
        if self.live is not None:
            self._from_live(row)
        if row.requests and row.errors is not None and row.error_rate is None:
            row.error_rate = row.errors / row.requests
        return row

    def _from_live(self, row: Row) -> None:
        """Fill the row from the metrics the scenario's driver published."""
        assert self.live is not None
        tags = {"scenario": row.scenario}
        reqs = self.live.combined("http.reqs", tags)
        if reqs is not None:
            row.requests = reqs.aggregate("count")
        failed = self.live.combined("http.req_failed", tags)
        if failed is not None and failed.count:
            row.errors = failed.aggregate("passes")
            row.error_rate = failed.aggregate("rate")
        duration = self.live.combined("http.req_duration", tags)
        if duration is not None and duration.count:
            row.p95 = duration.aggregate("p", 95.0)
        vus = self.live.combined("vus", tags)
        if vus is not None and vus.count:
            row.vus = vus.aggregate("value")

    def lines(self) -> list[str]:
        return [row.line() for row in self.rows()]

    def line(self) -> str:
        """Every running scenario on one line (``" | "`` between them)."""
        return " | ".join(self.lines())

    # -- drawing -----------------------------------------------------------------------------
    def _begin(self) -> None:
        # ``rich`` reads the rows (under the lock) as soon as the display is made: it is
        # made and started outside the lock, once (the scenario thread starts them all).
        with self._lock:
            if self._begun or self._stop.is_set():
                return
            self._begun = True
            if not self.tty:
                self._thread = threading.Thread(target=self._loop, name="perfgate-progress",
                                                daemon=True)
                self._thread.start()
                return
        display = self._rich_display()
        display.start()
        self._display = display

    def _rich_display(self) -> Any:
        from rich.console import Console
        from rich.live import Live

        ours = self.stream is sys.stderr  # then other output to it goes above the table
        console = Console(file=self.stream, stderr=ours)
        return Live(get_renderable=self._table, console=console, transient=True,
                    refresh_per_second=max(1.0 / self.interval, 1.0), redirect_stdout=ours,
                    redirect_stderr=ours)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for header in HEADERS:
            table.add_column(header, justify="left" if header == "scenario" else "right")
        for row in self.rows():
            table.add_row(*row.cells())
        return table

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._display is not None:
            with contextlib.suppress(Exception):  # the terminal went away: nothing to clear
                self._display.stop()
            self._display = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for text in self.lines():
                self._write(text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
