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

import ctypes
import ctypes.util
import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from perfgate import Kind, Metric, MetricSet
from perfgate_k6_driver.inflight import ENDED, ID_TAG, STARTED
from perfgate_k6_driver.names import KINDS, convert_tags, perfgate_name, unit_of

_CHUNK = 1 << 20


#: The ``name`` of series merged once a metric has ``max_series`` of them.
OTHER = "(other)"
#: Tags a merged series keeps beside ``name``.
_KEPT_WHEN_MERGED = ("scenario", "method", "status")


class SampleReader:
    """Turns k6 JSON lines into metrics; also counts what the progress line shows.

    Each series of a trend holds an HDR histogram (about 200 KiB), and k6 names a request by
    its URL unless the script gives it a ``name``: ``/api/records/1``, ``/api/records/2``...
    So a metric gets at most ``max_series`` series; later tag sets are merged into one with
    ``name: (other)`` (totals stay exact) and :attr:`merged` says which metrics it happened to.
    """

    def __init__(self, scenario: str, dropped_tags: Iterable[str], max_series: int = 200) -> None:
        self.scenario = scenario
        self.dropped = frozenset(dropped_tags)
        self.max_series = max_series
        self.merged: set[str] = set()
        self._per_metric: dict[str, int] = {}
        #: Every change is also kept for :meth:`MetricSet.take_delta`: the live deltas.
        self.metrics = MetricSet(deltas=True)
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
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], Metric] = {}
        self._seconds: dict[str, float] = {}
        self._last_stamp = ""
        self._last_epoch = 0.0
        #: Requests started and not (yet) ended: marker id → (start epoch, each one's tags)
        #: (a batch is several requests under one id).
        self.in_flight: dict[str, tuple[float, list[dict[str, str]]]] = {}

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
        if name in (STARTED, ENDED):
            self._marker(name, data, tags)
            return
        if name == "http_reqs" and self.in_flight:
            self._ended(data, tags.get("name"), 1)
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

    def _marker(self, name: str, data: dict[str, Any], tags: dict[str, str]) -> None:
        key = (data.get("metadata") or {}).get(ID_TAG)
        if key is None:
            return
        if name == ENDED:
            self._ended(data, None, int(data.get("value") or 1))
            return
        entry = self.in_flight.get(key)
        if entry is None:
            self.in_flight[key] = (self._epoch(data["time"]), [tags])
        else:
            entry[1].append(tags)

    def _ended(self, data: dict[str, Any], name: str | None, count: int) -> None:
        key = (data.get("metadata") or {}).get(ID_TAG)
        if key is None:
            return
        entry = self.in_flight.get(key)
        if entry is None:
            return
        started = entry[1]
        for _ in range(count):
            if not started:
                break
            same = next((i for i, t in enumerate(started) if t.get("name") == name), 0)
            started.pop(same)
        if not started:
            del self.in_flight[key]

    def record_unfinished(self, end: float) -> int:
        """Record the requests that started and never ended as failed, timed to ``end``.

        They get ``status: 0`` and ``error: interrupted`` (the same as the ``http``
        driver's); returns how many there were.
        """
        count = 0
        for start, started in self.in_flight.values():
            for tags in started:
                ptags = {**convert_tags(tags, self.scenario, self.dropped), "status": "0",
                         "error": "interrupted"}
                self.metrics.trend("http.req_duration", ptags, "ms").add(
                    max(end - start, 0.0) * 1000.0, end)
                self.metrics.counter("http.reqs", ptags).add(1, end)
                self.metrics.rate("http.req_failed", ptags).add(True, end)
                count += 1
        self.requests += count
        self.failed += count
        self.in_flight.clear()
        return count

    def _new_series(self, name: str, tags: dict[str, str]) -> Metric | None:
        kind, unit = self.kinds.get(name, (None, ""))
        if kind is None:
            return None  # a sample before its definition: k6 never does this
        ptags = convert_tags(tags, self.scenario, self.dropped)
        pname = perfgate_name(name)
        seen = self._per_metric.get(name, 0)
        if seen >= self.max_series:
            ptags = {k: v for k, v in ptags.items() if k in _KEPT_WHEN_MERGED}
            ptags["name"] = OTHER
            self.merged.add(pname)
        else:
            self._per_metric[name] = seen + 1
        if kind is Kind.TREND:
            return self.metrics.trend(pname, ptags, unit)
        if kind is Kind.RATE:
            return self.metrics.rate(pname, ptags)
        if kind is Kind.COUNTER:
            return self.metrics.counter(pname, ptags, unit)
        return self.metrics.gauge(pname, ptags, unit)

    def _epoch(self, stamp: str) -> float:
        """RFC 3339 with nanoseconds (``2026-11-26T17:34:19.409260653Z``) → epoch seconds.

        Whole seconds are parsed once and cached; the fraction is added as a float. The samples
        of one request share their time stamp, so the last one is remembered too.
        """
        if stamp == self._last_stamp:
            return self._last_epoch
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
        self._last_stamp, self._last_epoch = stamp, second + fraction
        return self._last_epoch

    # -- results -------------------------------------------------------------------------
    def set_window(self, start: float | None, end: float | None) -> None:
        """Give every series the test's window (a counter's rate divides by it)."""
        for metric in self.metrics:
            metric.start = metric.end = None
            metric.set_window(start, end)


def _libc_fallocate() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    return fallocate


_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_RECLAIM_EVERY = 16 << 20


class FileTail:
    """Follows a file another process is writing and hands complete lines to a reader.

    An hour of k6 samples is gigabytes, so on Linux the part already read is handed back to the
    file system as it goes (a hole punched into the file; k6 keeps appending undisturbed).
    """

    def __init__(self, path: Path, reader: SampleReader) -> None:
        self.path = path
        self.reader = reader
        self._fh: Any = None
        self._partial = b""
        self._fallocate = _libc_fallocate() if sys.platform.startswith("linux") else None
        self._reclaimed = 0

    def poll(self, final: bool = False, limit: int | None = None) -> int:
        """Read what was appended since the last call; return the number of lines read.

        ``final``: the writer has exited, so a last line without a newline is complete.
        ``limit``: read at most about this many bytes (the rest waits for the next call).
        """
        if self._fh is None:
            try:
                # Writable only to punch holes into what was read; nothing is ever written.
                self._fh = self.path.open("r+b" if self._fallocate else "rb")
            except FileNotFoundError:
                return 0
            except PermissionError:
                self._fallocate = None
                return self.poll(final, limit)
        lines = 0
        budget = limit if limit is not None and not final else -1
        while budget != 0:
            block = self._fh.read(_CHUNK)
            if not block:
                break
            if budget > 0:
                budget = max(budget - len(block), 0)
            self._reclaim()
            block = self._partial + block
            complete, _, self._partial = block.rpartition(b"\n")
            if complete:
                for line in complete.decode("utf-8", errors="replace").split("\n"):
                    self.reader.feed(line)
                    lines += 1
        if final and self._partial:
            self.reader.feed(self._partial.decode("utf-8", errors="replace"))
            self._partial = b""
            lines += 1
        return lines

    def _reclaim(self) -> None:
        """Free the disk blocks of what was read, in steps of ``_RECLAIM_EVERY`` bytes."""
        if self._fallocate is None:
            return
        upto = (self._fh.tell() - len(self._partial)) // _RECLAIM_EVERY * _RECLAIM_EVERY
        if upto <= self._reclaimed:
            return
        mode = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
        if self._fallocate(self._fh.fileno(), mode, self._reclaimed,
                           upto - self._reclaimed) != 0:
            self._fallocate = None  # a file system without holes: keep the file as it is
            return
        self._reclaimed = upto

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
