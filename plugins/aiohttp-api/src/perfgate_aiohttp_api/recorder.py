"""Cheap recording in the hot loop, folded into perfgate metrics about once a second.

A request's result lands in a :class:`Cell` (one per request name and status or error kind)
as integer microseconds appended to plain lists: a few tens of nanoseconds. :meth:`flush`
counts equal values (``collections.Counter``, in C) and adds each distinct value once to the
HDR histogram of a :class:`perfgate.Trend`, so memory stays bounded by the histograms however
long the run is.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from perfgate import MetricSet, Trend

#: Thresholds of the driver's self-check (see README, "Is the measurement valid?").
CPU_SATURATED = 95.0  # % of one core used by a driver process during a health tick
LAG_BEHIND_MS = 10.0  # an event-loop tick or a scheduled start this late is behind schedule
FOLD_SLICE = 200  # distinct values folded between two turns of the event loop (~0.4 ms)


class Cell:
    """Results of one request name with one outcome since the last flush."""

    __slots__ = ("durations", "failed", "receiving", "tags", "waiting")

    def __init__(self, tags: dict[str, str], failed: bool) -> None:
        self.tags = tags
        self.failed = failed
        self.durations: list[int] = []
        self.waiting: list[int] = []
        self.receiving: list[int] = []


def fold(trend: Trend, values_us: list[int], t: float) -> None:
    """Add integer-microsecond samples to a millisecond trend, one call per distinct value."""
    if len(values_us) == 1:
        trend.add(values_us[0] / 1000.0, t)
        return
    trend.add_tally([(value / 1000.0, count) for value, count in Tally(values_us).items()], t)


def error_tags(error: str) -> dict[str, str]:
    """``{"error": kind}``, with ``error_detail`` when the kind carries its reason after
    ``": "`` (``tls: certificate verify failed: self-signed certificate``)."""
    kind, _, detail = error.partition(": ")
    return {"error": kind, "error_detail": detail} if detail else {"error": kind}


class Recorder:
    """Collects one engine's results and turns them into a :class:`perfgate.MetricSet`."""

    def __init__(self, scenario: str, expected: frozenset[int] | None = None,
                 open_model: bool = False, deltas: bool = False) -> None:
        self.scenario = scenario
        self.expected = expected
        self.open_model = open_model
        #: With ``deltas``, every change is also kept for :meth:`MetricSet.take_delta`.
        self.metrics = MetricSet(deltas=deltas)
        self.cells: list[Cell] = []
        self.iteration_durations: list[int] = []
        self.ended: dict[str, list[int]] = {}  # flows ended early, by the error that ended them
        self.connecting: list[int] = []  # TCP connects, microseconds
        self.tls_handshaking: list[int] = []  # TLS handshakes, microseconds
        self.schedule_lag: list[int] = []
        self.dropped = 0
        self.check_tags: list[tuple[dict[str, str], list[int]]] = []
        # running totals for progress
        self.requests = 0
        self.errors = 0
        self.iterations = 0
        self._base = {"scenario": scenario}

    def failed(self, result: int | str) -> bool:
        """Whether ``result`` (a status code or an error kind) is a failed request."""
        if isinstance(result, str):
            return True
        if self.expected is not None:
            return result not in self.expected
        return not 100 <= result < 400

    def error(self, result: int | str) -> str | None:
        """The ``error`` tag of ``result``: the error kind, ``http_4xx``..., or None.

        A status outside 100-599 is no HTTP status (RFC 9110, 15): ``protocol``.
        """
        if isinstance(result, str):
            return result
        if not self.failed(result):
            return None
        return f"http_{result // 100}xx" if 100 <= result < 600 else "protocol"

    def cell(self, label: str, method: str, result: int | str,
             error: str | None = None, proto: str | None = None) -> Cell:
        """A new cell for ``label`` with ``result`` (a status code or an error kind).

        ``error`` marks a response that is fine by its status as failed for another reason
        (``capture``: it lacked a value a flow needed); its status is kept. An error kind
        may carry its reason after ``": "`` (``tls: certificate verify failed: ...``): the
        tag ``error`` is the kind, ``error_detail`` the reason. ``proto``: the protocol
        of a response (``HTTP/1.1``, ``HTTP/2``), its tag.
        """
        tags = {**self._base, "name": label, "method": method,
                "status": "0" if isinstance(result, str) else str(result)}
        if proto is not None:
            tags["proto"] = proto
        error = error or self.error(result)
        if error is not None:
            tags.update(error_tags(error))
        cell = Cell(tags, error is not None)
        self.cells.append(cell)
        return cell

    def internal_error(self, message: str) -> None:
        """An unexpected exception in an iteration (a bug): counted, quoted by the driver."""
        self.metrics.counter("perfgate.driver.internal_errors",
                             {**self._base, "error": message[:200]}).add(1)

    def ended_early(self, error: str) -> list[int]:
        """Durations of flow iterations that ended early with ``error``; the loop appends."""
        durations = self.ended.get(error)
        if durations is None:
            durations = self.ended[error] = []
        return durations

    def check_counts(self, label: str, name: str) -> list[int]:
        """``[passes, total]`` for one check of one request; the hot loop adds to it."""
        counts = [0, 0]
        self.check_tags.append(({**self._base, "name": label, "check": name}, counts))
        return counts

    def pending(self) -> tuple[int, int, int]:
        """Requests, failed requests and iterations so far (flushed or not), for progress."""
        requests, errors = self.requests, self.errors
        for cell in self.cells:
            n = len(cell.durations)
            requests += n
            if cell.failed:
                errors += n
        iterations = self.iterations + len(self.iteration_durations)
        return requests, errors, iterations + sum(map(len, self.ended.values()))

    def flush(self, t: float, received: int, sent: int) -> None:
        """Fold everything recorded since the last flush into the metrics at epoch ``t``."""
        for _ in self.fold(self.take(t, received, sent), t):
            pass

    def take(self, t: float, received: int, sent: int) -> list[tuple[Trend, list[int]]]:
        """Count what was recorded since the last flush; return the trends still to fold.

        Cheap (no per-sample work); the event loop runs :meth:`fold` in slices after it.
        """
        m = self.metrics
        jobs: list[tuple[Trend, list[int]]] = []
        for cell in self.cells:
            durations = cell.durations
            if not durations:
                continue
            n = len(durations)
            cell.durations = []
            waiting, cell.waiting = cell.waiting, []
            receiving, cell.receiving = cell.receiving, []
            tags = cell.tags
            jobs.append((m.trend("http.req_duration", tags), durations))
            if waiting:
                jobs.append((m.trend("http.req_waiting", tags), waiting))
            if receiving:
                jobs.append((m.trend("http.req_receiving", tags), receiving))
            m.counter("http.reqs", tags).add(n, t)
            m.rate("http.req_failed", tags).add_counts(n if cell.failed else 0, n, t)
            self.requests += n
            if cell.failed:
                self.errors += n
        if self.iteration_durations:
            durations, self.iteration_durations = self.iteration_durations, []
            jobs.append((m.trend("iteration_duration", self._base), durations))
            m.counter("iterations", self._base).add(len(durations), t)
            self.iterations += len(durations)
        for error, durations in self.ended.items():
            if durations:
                self.ended[error] = []
                tags = {**self._base, **error_tags(error)}
                jobs.append((m.trend("iteration_duration", tags), durations))
                m.counter("iterations", tags).add(len(durations), t)
                self.iterations += len(durations)
        if self.connecting:
            values, self.connecting = self.connecting, []
            jobs.append((m.trend("http.req_connecting", self._base), values))
        if self.tls_handshaking:
            values, self.tls_handshaking = self.tls_handshaking, []
            jobs.append((m.trend("http.req_tls_handshaking", self._base), values))
        if self.schedule_lag:
            values, self.schedule_lag = self.schedule_lag, []
            jobs.append((m.trend("perfgate.driver.schedule_lag", self._base), values))
        if self.dropped:
            m.counter("dropped_iterations", self._base).add(self.dropped, t)
            self.dropped = 0
        for tags, counts in self.check_tags:
            passes, total = counts
            if total:
                m.rate("checks", tags).add_counts(passes, total, t)
                counts[0] = counts[1] = 0
        if received:
            m.counter("data_received", self._base, unit="B").add(received, t)
        if sent:
            m.counter("data_sent", self._base, unit="B").add(sent, t)
        return jobs

    @staticmethod
    def fold(jobs: list[tuple[Trend, list[int]]], t: float) -> Iterator[None]:
        """Add the samples to their histograms, yielding every :data:`FOLD_SLICE` distinct
        values: each slice one :meth:`perfgate.Trend.add_tally` (repeated once on the live
        delta). Folding a busy series into a histogram of its own and merging it (in C)
        would be cheaper, but a fresh 184 KiB histogram per series and second fragments the
        heap: RSS grew by 2 MB per second of results that way."""
        room = FOLD_SLICE
        for trend, values in jobs:
            pairs = [(value / 1000.0, count) for value, count in Tally(values).items()]
            done = 0
            while done < len(pairs):
                chunk = pairs[done:done + room]
                trend.add_tally(chunk, t)
                done += len(chunk)
                room -= len(chunk)
                if not room:
                    room = FOLD_SLICE
                    yield

    def health(self, t: float, cpu_percent: float, lag_ms: float,
               vus: tuple[int, int] | None) -> bool:
        """Record one health tick; True when the driver was saturated or behind schedule."""
        m = self.metrics
        behind = cpu_percent >= CPU_SATURATED or lag_ms >= LAG_BEHIND_MS
        m.gauge("perfgate.driver.cpu", self._base, unit="%").add(cpu_percent, t)
        m.rate("perfgate.driver.behind_schedule", self._base).add(behind, t)
        if vus is not None:
            self.vus(t, *vus)
        return behind

    def vus(self, t: float, active: int, allocated: int) -> None:
        """Sample the ``vus`` (running) and ``vus_max`` (allocated) gauges."""
        self.metrics.gauge("vus", self._base).add(active, t)
        self.metrics.gauge("vus_max", self._base).add(allocated, t)

    def finish(self, start: float, end: float) -> MetricSet:
        """The metrics with their window; counters users gate on with ``count == 0`` are
        recorded as 0 when nothing happened, so such a target finds them measured."""
        m = self.metrics
        if self.open_model:
            dropped = m.counter("dropped_iterations", self._base)
            if not dropped.count:
                dropped.add(0, end)
        if not m.select("perfgate.driver.internal_errors"):
            m.counter("perfgate.driver.internal_errors", self._base).add(0, end)
        m.set_window(start, end)
        return m


def summary(metrics: MetricSet) -> dict[str, Any]:
    """Numbers the driver reports about itself (``details`` and notes)."""
    out: dict[str, Any] = {}
    behind = metrics.combined("perfgate.driver.behind_schedule")
    if behind is not None:
        out["behind_schedule"] = behind.aggregate("rate")
    cpu = metrics.combined("perfgate.driver.cpu")
    if cpu is not None:
        out["cpu_max"] = cpu.aggregate("max")
        out["cpu_avg"] = cpu.aggregate("avg")
    lag = metrics.combined("perfgate.driver.schedule_lag")
    if lag is not None:
        out["schedule_lag_p99_ms"] = lag.aggregate("p", 99)
        out["schedule_lag_max_ms"] = lag.aggregate("max")
    return out
