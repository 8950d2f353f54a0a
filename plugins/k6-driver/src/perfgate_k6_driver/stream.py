"""Reading k6's JSON metrics stream (``--out json=FILE``) into a :class:`perfgate.MetricSet`.

The stream has one JSON object per line: a ``Metric`` line the first time k6 emits a metric
(its type, value type and thresholds), then one ``Point`` line per sample::

    {"type":"Metric","metric":"http_req_duration","data":{"type":"trend","contains":"time",...}}
    {"type":"Point","metric":"http_req_duration","data":{"time":"2026-...Z","value":21.5,
     "tags":{"method":"GET","name":"health","scenario":"default","status":"200",...}}}

Every sample goes into perfgate's metrics: trends into HDR histograms (so percentiles are exact
within the histogram's precision, not k6's summary's), every kind into per-second series. The
file is read as it grows, a block at a time, so memory stays flat however long the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from perfgate import Kind, Metric, MetricSet
from perfgate_k6_driver.names import KINDS, convert_tags, perfgate_name, unit_of

_CHUNK = 1 << 20


class SampleReader:
    """Turns k6 JSON lines into metrics; also counts what the progress line shows."""

    def __init__(self, scenario: str, dropped_tags: Iterable[str]) -> None:
        self.scenario = scenario
        self.dropped = frozenset(dropped_tags)
        self.metrics = MetricSet()
        #: k6 metric name → (perfgate kind, unit), from the ``Metric`` lines.
        self.kinds: dict[str, tuple[Kind, str]] = {}
        #: k6 metric name → its thresholds as the script wrote them.
        self.thresholds: dict[str, list[str]] = {}
        self.first: float | None = None
        self.last: float | None = None
        self.samples = 0
        self.requests = 0
        self.failed = 0
        self.bad_lines = 0
        #: The test's window, once :meth:`set_window` set it.
        self.metrics_start: float | None = None
        self.metrics_end: float | None = None
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], Metric] = {}
        self._seconds: dict[str, float] = {}

    # -- lines ---------------------------------------------------------------------------
    def feed(self, line: bytes | str) -> None:
        """Read one line of the stream."""
        try:
            doc = json.loads(line)
            kind = doc["type"]
        except (ValueError, KeyError, TypeError):
            if line.strip():
                self.bad_lines += 1
            return
        if kind == "Point":
            self._point(doc["metric"], doc["data"])
        elif kind == "Metric":
            self._definition(doc["metric"], doc["data"])

    def _definition(self, name: str, data: dict[str, Any]) -> None:
        kind = KINDS.get(data.get("type", ""))
        if kind is None:
            return
        self.kinds[name] = (kind, unit_of(kind, data.get("contains", "default")))
        if data.get("thresholds"):
            self.thresholds[name] = list(data["thresholds"])

    def _point(self, name: str, data: dict[str, Any]) -> None:
        tags = data.get("tags") or {}
        key = (name, tuple(tags.items()))
        metric = self._series.get(key)
        if metric is None:
            metric = self._new_series(name, tags)
            if metric is None:
                return
            self._series[key] = metric
        t = self._epoch(data["time"])
        value = float(data["value"])
        metric.add(value, t)
        self.samples += 1
        if self.first is None or t < self.first:
            self.first = t
        if self.last is None or t > self.last:
            self.last = t
        if name == "http_reqs":
            self.requests += 1
        elif name == "http_req_failed" and value:
            self.failed += 1

    def _new_series(self, name: str, tags: dict[str, str]) -> Metric | None:
        kind, unit = self.kinds.get(name, (None, ""))
        if kind is None:
            return None  # a sample before its definition: k6 never does this
        ptags = convert_tags(tags, self.scenario, self.dropped)
        pname = perfgate_name(name)
        if kind is Kind.TREND:
            return self.metrics.trend(pname, ptags, unit)
        if kind is Kind.RATE:
            return self.metrics.rate(pname, ptags)
        if kind is Kind.COUNTER:
            return self.metrics.counter(pname, ptags, unit)
        return self.metrics.gauge(pname, ptags, unit)

    def _epoch(self, stamp: str) -> float:
        """RFC 3339 with nanoseconds (``2026-11-26T17:34:19.409260653Z``) → epoch seconds.

        Whole seconds are parsed once and cached; the fraction is added as a float.
        """
        if len(stamp) > 19 and stamp[19] == ".":
            end = 20
            while end < len(stamp) and stamp[end].isdigit():
                end += 1
            fraction = float(stamp[19:end])
            head = stamp[:19] + stamp[end:]
        else:
            fraction, head = 0.0, stamp
        second = self._seconds.get(head)
        if second is None:
            second = datetime.fromisoformat(head.replace("Z", "+00:00")).timestamp()
            self._seconds[head] = second
        return second + fraction

    # -- results -------------------------------------------------------------------------
    def set_window(self, start: float | None, end: float | None) -> None:
        """Give every series the test's window (a counter's rate divides by it)."""
        self.metrics_start, self.metrics_end = start, end
        for metric in self.metrics:
            metric.start = metric.end = None
            metric.set_window(start, end)


class FileTail:
    """Follows a file another process is writing and hands complete lines to a reader."""

    def __init__(self, path: Path, reader: SampleReader) -> None:
        self.path = path
        self.reader = reader
        self._fh: Any = None
        self._partial = b""

    def poll(self, final: bool = False) -> int:
        """Read what was appended since the last call; return the number of lines read.

        ``final``: the writer has exited, so a last line without a newline is complete.
        """
        if self._fh is None:
            try:
                self._fh = self.path.open("rb")
            except FileNotFoundError:
                return 0
        lines = 0
        while True:
            block = self._fh.read(_CHUNK)
            if not block:
                break
            block = self._partial + block
            complete, _, self._partial = block.rpartition(b"\n")
            if complete:
                for line in complete.split(b"\n"):
                    self.reader.feed(line)
                    lines += 1
        if final and self._partial:
            self.reader.feed(self._partial)
            self._partial = b""
            lines += 1
        return lines

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
