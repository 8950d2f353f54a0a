"""The metric model: named, tagged metrics of four kinds, mergeable across processes.

Names and aggregations follow k6 (``http_req_duration`` is ``http.req_duration`` here):

========  =====================================  ===========================================
kind      what one sample is                     aggregations a threshold may use
========  =====================================  ===========================================
trend     a value (a latency in ms, a size)      ``avg min max med p(N) count``
rate      a boolean (failed? passed?)            ``rate`` (0..1), ``count``, ``passes``, ``fails``
counter   an amount to add up (requests, bytes)  ``count`` (total), ``rate`` (per second)
gauge     a level at one moment (CPU %, memory)  ``value`` (last), ``min``, ``max``, ``avg``
========  =====================================  ===========================================

Trend values go into an HDR histogram (bounded memory, exact merge across worker processes);
every kind also keeps a per-second time series of ``[count, sum, min, max, last]``, and a
trend a small histogram per second as well (:class:`SecondHistograms`, wider windows in
long runs), so that its percentiles over time (p95 of each second) merge exactly across
series and processes too.

A :class:`MetricSet` made with ``deltas=True`` also records every change in a pending delta
that :meth:`MetricSet.take_delta` hands over (thread-safe): the mergeable snapshots live
metrics are made of. Deltas add up exactly to the whole: merging every delta taken gives the
same metrics, histograms included.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from hdrh.histogram import HdrHistogram

Tags = Mapping[str, str]
MetricKey = tuple[str, tuple[tuple[str, str], ...]]


class Kind(StrEnum):
    TREND = "trend"
    RATE = "rate"
    COUNTER = "counter"
    GAUGE = "gauge"


#: Percentiles every trend reports in the result document.
REPORTED_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


def tag_key(tags: Tags | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items()))


def format_selector(name: str, tags: Tags | None) -> str:
    """``http.req_duration{scenario:load,status:200}``: how metrics are named in reports."""
    if not tags:
        return name
    inner = ",".join(f"{k}:{v}" for k, v in sorted(tags.items()))
    return f"{name}{{{inner}}}"


def aggregation_unit(kind: Kind, unit: str, aggregation: str) -> str:
    """The unit of an aggregation's value: a counter's ``rate`` is per second, a rate is a ratio."""
    if kind is Kind.RATE:
        return "ratio" if aggregation == "rate" else ""
    if aggregation == "count":
        return "" if kind is Kind.TREND else unit
    if kind is Kind.COUNTER and aggregation == "rate":
        return f"{unit}/s" if unit else "/s"
    return unit


class TimeSeries:
    """Per-second buckets ``[count, sum, min, max, last]`` keyed by whole epoch second."""

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        self.buckets: dict[int, list[float]] = {}

    def add(self, value: float, t: float) -> None:
        second = int(t)
        bucket = self.buckets.get(second)
        if bucket is None:
            self.buckets[second] = [1, value, value, value, value]
            return
        bucket[0] += 1
        bucket[1] += value
        if value < bucket[2]:
            bucket[2] = value
        if value > bucket[3]:
            bucket[3] = value
        bucket[4] = value

    def add_bucket(self, second: int, count: float, total: float, low: float, high: float,
                   last: float) -> None:
        bucket = self.buckets.get(second)
        if bucket is None:
            self.buckets[second] = [count, total, low, high, last]
            return
        bucket[0] += count
        bucket[1] += total
        bucket[2] = min(bucket[2], low)
        bucket[3] = max(bucket[3], high)
        bucket[4] = last

    def merge(self, other: TimeSeries) -> None:
        for second, b in other.buckets.items():
            self.add_bucket(second, *b)

    def to_list(self) -> list[list[float]]:
        return [[s, *b] for s, b in sorted(self.buckets.items())]

    @classmethod
    def from_list(cls, rows: Iterable[list[float]]) -> TimeSeries:
        series = cls()
        for row in rows:
            series.add_bucket(int(row[0]), *row[1:6])
        return series


class SecondHistograms:
    """A histogram per window of time (one second, until there are many), with logarithmic
    buckets as DDSketch's: the percentiles of a trend over time, mergeable exactly.

    Bucket ``i`` holds the values ``v`` (in whole resolution steps, at least 1) with
    ``GAMMA ** (i - 1) < v <= GAMMA ** i``; a percentile answers with the bucket's middle,
    within :data:`ACCURACY` (2%) of the true value. A window holds only the buckets its
    samples fell into (a few dozen for a latency), instead of an HDR histogram's 23,552
    counters. Windows are ``width`` seconds long, aligned to multiples of ``width`` in epoch
    time; when a series has more than :data:`MAX_WINDOWS` of them, ``width`` doubles and
    neighbours merge, so memory stays bounded however long the run (an hour is 900 windows
    of 4 s). Histograms of different series, processes and runs add up exactly, the wider
    windows absorbing the narrower.
    """

    __slots__ = ("width", "windows")

    ACCURACY = 0.02
    GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
    _LOG_GAMMA = math.log(GAMMA)
    MAX_WINDOWS = 900

    def __init__(self) -> None:
        #: Seconds per window: 1, 2, 4...
        self.width = 1
        #: Window start (epoch second) → bucket index → count.
        self.windows: dict[int, dict[int, int]] = {}

    def add(self, steps: int, count: int, t: float) -> None:
        index = math.ceil(math.log(steps) / self._LOG_GAMMA - 1e-9) if steps > 1 else 0
        buckets = self._window(t)
        buckets[index] = buckets.get(index, 0) + count

    def _window(self, t: float) -> dict[int, int]:
        """The buckets of the window ``t`` falls into, made (widening if need be) if new."""
        second = int(t)
        buckets = self.windows.get(second - second % self.width)
        if buckets is None:
            if len(self.windows) >= self.MAX_WINDOWS:
                self.widen(self.width * 2)
            start = second - second % self.width
            buckets = self.windows.get(start)
            if buckets is None:
                buckets = self.windows[start] = {}
        return buckets

    def add_tally(self, counts: Iterable[tuple[int, int]], t: float) -> None:
        """:meth:`add` of each ``(steps, count)``, all at ``t``: the window found once."""
        buckets = self._window(t)
        log, log_gamma = math.log, self._LOG_GAMMA
        ceil, get = math.ceil, buckets.get
        for steps, count in counts:
            index = ceil(log(steps) / log_gamma - 1e-9) if steps > 1 else 0
            buckets[index] = get(index, 0) + count

    def widen(self, width: int) -> None:
        """Merge neighbouring windows into windows ``width`` seconds long (a multiple)."""
        if width <= self.width:
            return
        merged: dict[int, dict[int, int]] = {}
        for start, buckets in self.windows.items():
            _add_buckets(merged, start - start % width, buckets)
        self.width, self.windows = width, merged

    def merge(self, other: SecondHistograms) -> None:
        if other.width > self.width:
            self.widen(other.width)
        for start, theirs in other.windows.items():
            _add_buckets(self.windows, start - start % self.width, theirs)
        while len(self.windows) > self.MAX_WINDOWS:
            self.widen(self.width * 2)

    def percentile(self, start: int, p: float) -> float | None:
        """The ``p``-th percentile of one window, in resolution steps; None without data."""
        buckets = self.windows.get(start)
        if not buckets:
            return None
        total = sum(buckets.values())
        rank = max(1, math.ceil(p / 100.0 * total - 1e-9))
        seen = 0
        for index in sorted(buckets):
            seen += buckets[index]
            if seen >= rank:
                break
        if index == 0:
            return 1.0
        return 2 * self.GAMMA ** index / (self.GAMMA + 1)

    def to_dict(self) -> dict[str, Any]:
        """``{"gamma": ..., "width": 1, "buckets": [[start, "index:count ..."], ...]}``: one
        short line of text per window, however the document is indented."""
        return {"gamma": self.GAMMA, "width": self.width, "buckets": [
            [start, " ".join(f"{index}:{b[index]}" for index in sorted(b))]
            for start, b in sorted(self.windows.items())]}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SecondHistograms:
        histograms = cls()
        if not math.isclose(float(doc.get("gamma", cls.GAMMA)), cls.GAMMA):
            return histograms  # another bucket layout: not mergeable with this one
        histograms.width = max(1, int(doc.get("width", 1)))
        for start, text in doc.get("buckets") or ():
            buckets = histograms.windows[int(start)] = {}
            for pair in str(text).split():
                index, _, count = pair.partition(":")
                buckets[int(index)] = int(count)
        return histograms


def _add_buckets(windows: dict[int, dict[int, int]], start: int,
                 buckets: Mapping[int, int]) -> None:
    mine = windows.get(start)
    if mine is None:
        windows[start] = dict(buckets)
        return
    for index, count in buckets.items():
        mine[index] = mine.get(index, 0) + count


class Metric:
    """One named, tagged metric; subclasses define what a sample means."""

    kind: ClassVar[Kind]
    default_unit: ClassVar[str] = ""
    #: The aggregations a threshold may use on this kind, in the order reports show them
    #: (``p`` stands for every percentile, ``p(N)``): the one list the grammar derives from.
    aggregations: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, tags: Tags | None = None, unit: str | None = None) -> None:
        self.name = name
        self.tags: dict[str, str] = dict(tag_key(tags))
        self.unit = self.default_unit if unit is None else unit
        self.series = TimeSeries()
        #: The window the metric covers (epoch seconds); a counter's rate divides by it.
        self.start: float | None = None
        self.end: float | None = None
        #: The scenario whose window the core cut this series to (a collector's samples taken
        #: while that scenario ran); only a selector that names the scenario matches it.
        self.window_scenario: str | None = None
        #: Where changes are also recorded (a set made with ``deltas=True``), or None.
        self._journal: _Journal | None = None

    @property
    def key(self) -> MetricKey:
        return (self.name, tag_key(self.tags))

    @property
    def selector(self) -> str:
        return format_selector(self.name, self.tags)

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(self.end - self.start, 0.0)

    def set_window(self, start: float | None, end: float | None) -> None:
        if start is not None:
            self.start = start if self.start is None else min(self.start, start)
        if end is not None:
            self.end = end if self.end is None else max(self.end, end)

    def add(self, value: float, t: float | None = None) -> None:
        raise NotImplementedError

    def merge(self, other: Metric) -> None:
        if other.kind is not self.kind:
            raise TypeError(f"cannot merge {other.kind} {other.name} into {self.kind}")
        if other.unit != self.unit and other.count:
            raise TypeError(f"cannot merge {other.name} in {other.unit or 'plain numbers'} "
                            f"into {self.name} in {self.unit or 'plain numbers'}")
        self.series.merge(other.series)
        self.set_window(other.start, other.end)
        self._merge_data(other)

    def _merge_data(self, other: Any) -> None:
        raise NotImplementedError

    def copy(self, tags: Tags | None = None) -> Metric:
        clone = type(self)(self.name, self.tags if tags is None else tags, self.unit)
        clone.merge(self)
        clone.window_scenario = self.window_scenario
        return clone

    def matches(self, name: str, wanted: Tags) -> bool:
        """Whether a selector ``name{wanted}`` selects this series.

        A series cut to a scenario's window matches only a selector that names that scenario:
        its samples are the whole run's too, and must not count twice.
        """
        if self.name != name or any(self.tags.get(k) != v for k, v in wanted.items()):
            return False
        return self.window_scenario is None or wanted.get("scenario") == self.window_scenario

    def aggregate(self, aggregation: str, percentile: float | None = None) -> float | None:
        """The value of one aggregation (``p`` needs ``percentile``); ``None`` if no data."""
        raise NotImplementedError

    def values(self) -> dict[str, float | None]:
        """Every aggregation of this kind, as reported in the result document."""
        raise NotImplementedError

    @property
    def count(self) -> int:
        raise NotImplementedError

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "unit": self.unit,
            "tags": dict(self.tags),
            "window": {"start": self.start, "end": self.end,
                       "scenario": self.window_scenario},
            "values": self.values(),
            "data": self._data_dict(),
            "series": self.series.to_list(),
        }

    def _data_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_data(self, data: Mapping[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def from_dict(doc: Mapping[str, Any]) -> Metric:
        cls = METRIC_CLASSES[Kind(doc["kind"])]
        metric = cls(doc["name"], doc.get("tags") or {}, doc.get("unit"))
        window = doc.get("window") or {}
        metric.set_window(window.get("start"), window.get("end"))
        metric.window_scenario = window.get("scenario")
        metric.series = TimeSeries.from_list(doc.get("series") or [])
        metric._load_data(doc.get("data") or {})
        return metric

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.selector} count={self.count}>"


def _record_counts(histogram: HdrHistogram, counts: Iterable[tuple[int, int]]) -> None:
    """``histogram.record_value(value, count)`` of each pair, with hdrh's index arithmetic
    (``_counts_index_for``) inlined: the same counts, minimum, maximum and total, at a
    fraction of the cost of a call (and four more inside it) per value."""
    h = histogram
    unit, half_magnitude = h.unit_magnitude, h.sub_bucket_half_count_magnitude
    mask, half, size = h.sub_bucket_mask, h.sub_bucket_half_count, h.counts_len
    cells = h.counts
    low, high, added = h.min_value, h.max_value, 0
    for value, count in counts:
        if value < 0:
            continue
        bucket = (value | mask).bit_length() - unit - half_magnitude - 1
        index = ((bucket + 1) << half_magnitude) + (value >> (bucket + unit)) - half
        if index < 0 or index >= size:
            continue
        cells[index] += count
        added += count
        if value < low:
            low = value
        if value > high:
            high = value
    h.total_count += added
    h.min_value, h.max_value = low, high


class Trend(Metric):
    """Values in an HDR histogram: 3 significant digits, from ``resolution`` up to ``highest``.

    Values are stored as whole multiples of ``resolution`` (1 µs for a trend in ms). Exact
    ``min``, ``max``, sum and count are kept beside the histogram, so ``avg`` is exact and
    values beyond the histogram's range still show as ``max``. Each second's samples go into
    :class:`SecondHistograms` too: :meth:`second_percentiles` are percentiles over time.
    """

    kind = Kind.TREND
    default_unit = "ms"
    aggregations = ("avg", "min", "max", "med", "p", "count")
    STEPS_PER_UNIT = 1000  # histogram steps per unit: microseconds for a trend in ms
    RESOLUTION = 1 / STEPS_PER_UNIT
    HIGHEST = 3_600_000_000  # in resolution steps: one hour of milliseconds, in microseconds
    SIGNIFICANT_DIGITS = 3

    def __init__(self, name: str, tags: Tags | None = None, unit: str | None = None) -> None:
        super().__init__(name, tags, unit)
        self.histogram = HdrHistogram(1, self.HIGHEST, self.SIGNIFICANT_DIGITS)
        self.second_histograms = SecondHistograms()
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf

    @property
    def count(self) -> int:
        return self._count

    def _steps(self, value: float) -> int:
        return min(max(round(value * self.STEPS_PER_UNIT), 1), self.HIGHEST)

    def add(self, value: float, t: float | None = None) -> None:
        t = time.time() if t is None else t
        steps = self._steps(value)
        self.histogram.record_value(steps)
        self.second_histograms.add(steps, 1, t)
        self._count += 1
        self._sum += value
        if value < self._min:
            self._min = value
        if value > self._max:
            self._max = value
        self.series.add(value, t)
        if self._journal is not None:
            self._journal.record(self, "add", value, t)

    def add_many(self, value: float, count: int, t: float | None = None) -> None:
        """Record ``count`` samples of the same value (a pre-aggregated bucket)."""
        if count <= 0:
            return
        t = time.time() if t is None else t
        steps = self._steps(value)
        self.histogram.record_value(steps, count)
        self.second_histograms.add(steps, count, t)
        self._count += count
        self._sum += value * count
        self._min = min(self._min, value)
        self._max = max(self._max, value)
        self.series.add_bucket(int(t), count, value * count, value, value, value)
        if self._journal is not None:
            self._journal.record(self, "add_many", value, count, t)

    def add_tally(self, counts: Sequence[tuple[float, int]], t: float | None = None) -> None:
        """Record many values at once: ``(value, count)`` pairs, all at ``t``.

        The same as :meth:`add_many` of each pair, in a fraction of the time: a driver that
        tallies its samples (``collections.Counter``) folds a second of them in one call.
        """
        t = time.time() if t is None else t
        per_unit, highest = self.STEPS_PER_UNIT, self.HIGHEST
        steps_counts: list[tuple[int, int]] = []
        n = 0
        total = 0.0
        low = high = last = math.nan
        for value, count in counts:
            if count <= 0:
                continue
            steps = round(value * per_unit)  # as _steps(), inlined
            if steps < 1:
                steps = 1
            elif steps > highest:
                steps = highest
            steps_counts.append((steps, count))
            if not n:
                low = high = value
            elif value < low:
                low = value
            elif value > high:
                high = value
            n += count
            total += value * count
            last = value
        if n:
            self._add_steps(steps_counts, n, total, low, high, last, t)

    def _add_steps(self, steps_counts: list[tuple[int, int]], n: int, total: float,
                   low: float, high: float, last: float, t: float) -> None:
        """What :meth:`add_tally` adds, already in resolution steps and summed: the live
        delta repeats this, not the conversion."""
        _record_counts(self.histogram, steps_counts)
        self.second_histograms.add_tally(steps_counts, t)
        self._count += n
        self._sum += total
        self._min = min(self._min, low)
        self._max = max(self._max, high)
        self.series.add_bucket(int(t), n, total, low, high, last)
        if self._journal is not None:
            self._journal.record(self, "_add_steps", steps_counts, n, total, low, high, last,
                                 t)

    def _merge_data(self, other: Trend) -> None:
        if other._count:
            self.histogram.add(other.histogram)
            self.second_histograms.merge(other.second_histograms)
        self._count += other._count
        self._sum += other._sum
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)

    def percentile(self, p: float) -> float | None:
        if not self._count:
            return None
        if p >= 100:
            return self._max
        if p <= 0:
            return self._min
        raw = float(self.histogram.get_value_at_percentile(p)) / self.STEPS_PER_UNIT
        # The histogram answers with the highest value equivalent to the bucket; never
        # report beyond what was really seen.
        return min(max(raw, self._min), self._max)

    def percentiles(self, percentiles: Sequence[float]) -> list[float | None]:
        """:meth:`percentile` of each of ``percentiles``, in one pass over the histogram."""
        if not self._count:
            return [None for _ in percentiles]
        inside = [p for p in percentiles if 0 < p < 100]
        raw = self.histogram.get_percentile_to_value_dict(inside) if inside else {}
        out: list[float | None] = []
        for p in percentiles:
            if p >= 100:
                out.append(self._max)
            elif p <= 0:
                out.append(self._min)
            else:
                value = raw[p] / self.STEPS_PER_UNIT
                out.append(min(max(value, self._min), self._max))
        return out

    def second_percentiles(self, percentiles: Sequence[float]) -> list[dict[int, float]]:
        """For each of ``percentiles``, its value in each window of
        :attr:`second_histograms` that has samples (window start, an epoch second → value,
        within 2%, and never beyond that window's exact min and max). Windows are one second
        long unless the series spans more than :data:`SecondHistograms.MAX_WINDOWS` seconds.
        """
        out: list[dict[int, float]] = [{} for _ in percentiles]
        histograms = self.second_histograms
        width = histograms.width
        for start in sorted(histograms.windows):
            seconds = [b for s in range(start, start + width)
                       if (b := self.series.buckets.get(s)) is not None]
            low = min((b[2] for b in seconds), default=None)
            high = max((b[3] for b in seconds), default=None)
            for column, p in zip(out, percentiles, strict=True):
                steps = histograms.percentile(start, p)
                if steps is None:
                    continue
                value = steps / self.STEPS_PER_UNIT
                if low is not None and high is not None:  # the window's exact extremes
                    value = high if p >= 100 else low if p <= 0 else min(max(value, low), high)
                column[start] = value
        return out

    def aggregate(self, aggregation: str, percentile: float | None = None) -> float | None:
        if not self._count:
            return 0.0 if aggregation == "count" else None
        match aggregation:
            case "avg":
                return self._sum / self._count
            case "min":
                return self._min
            case "max":
                return self._max
            case "med":
                return self.percentile(50.0)
            case "p":
                return self.percentile(float(percentile if percentile is not None else 50.0))
            case "count":
                return float(self._count)
        raise KeyError(aggregation)

    def values(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {
            "count": float(self._count),
            "avg": self.aggregate("avg"),
            "min": self.aggregate("min"),
            "max": self.aggregate("max"),
            "med": self.aggregate("med"),
        }
        for p in REPORTED_PERCENTILES:
            out[f"p({p:g})"] = self.percentile(p)
        return out

    def _data_dict(self) -> dict[str, Any]:
        return {
            "count": self._count,
            "sum": self._sum,
            "min": self._min if self._count else None,
            "max": self._max if self._count else None,
            "resolution": self.RESOLUTION,
            "hdr": self.histogram.encode().decode("ascii") if self._count else None,
            "seconds": self.second_histograms.to_dict(),
        }

    def _load_data(self, data: Mapping[str, Any]) -> None:
        if not data.get("count"):
            return
        self.histogram = HdrHistogram.decode(data["hdr"].encode("ascii"))
        self.second_histograms = SecondHistograms.from_dict(data.get("seconds") or {})
        self._count = int(data["count"])
        self._sum = float(data["sum"])
        self._min = float(data["min"])
        self._max = float(data["max"])


class Rate(Metric):
    """The share of samples that were true: ``http.req_failed``, ``checks``."""

    kind = Kind.RATE
    default_unit = "ratio"
    aggregations = ("rate", "count", "passes", "fails")

    def __init__(self, name: str, tags: Tags | None = None, unit: str | None = None) -> None:
        super().__init__(name, tags, unit)
        self.passes = 0
        self.total = 0

    @property
    def count(self) -> int:
        return self.total

    def add(self, value: float, t: float | None = None) -> None:
        t = time.time() if t is None else t
        hit = 1 if value else 0
        self.passes += hit
        self.total += 1
        self.series.add(hit, t)
        if self._journal is not None:
            self._journal.record(self, "add", value, t)

    def add_counts(self, passes: int, total: int, t: float | None = None) -> None:
        """Record ``total`` samples of which ``passes`` were true."""
        if total <= 0:
            return
        t = time.time() if t is None else t
        self.passes += passes
        self.total += total
        share = passes / total
        self.series.add_bucket(int(t), total, passes, 0 if passes < total else 1,
                               1 if passes else 0, share)
        if self._journal is not None:
            self._journal.record(self, "add_counts", passes, total, t)

    def _merge_data(self, other: Rate) -> None:
        self.passes += other.passes
        self.total += other.total

    def aggregate(self, aggregation: str, percentile: float | None = None) -> float | None:
        match aggregation:
            case "rate":
                return self.passes / self.total if self.total else None
            case "count":
                return float(self.total)
            case "passes":
                return float(self.passes)
            case "fails":
                return float(self.total - self.passes)
        raise KeyError(aggregation)

    def values(self) -> dict[str, float | None]:
        return {k: self.aggregate(k) for k in self.aggregations}

    def _data_dict(self) -> dict[str, Any]:
        return {"passes": self.passes, "total": self.total}

    def _load_data(self, data: Mapping[str, Any]) -> None:
        self.passes = int(data.get("passes", 0))
        self.total = int(data.get("total", 0))


class Counter(Metric):
    """An amount that adds up: ``http.reqs``, ``data_received`` (in B)."""

    kind = Kind.COUNTER
    aggregations = ("count", "rate")

    def __init__(self, name: str, tags: Tags | None = None, unit: str | None = None) -> None:
        super().__init__(name, tags, unit)
        self.total = 0.0
        self.samples = 0

    @property
    def count(self) -> int:
        return self.samples

    def add(self, value: float = 1.0, t: float | None = None) -> None:
        t = time.time() if t is None else t
        self.total += value
        self.samples += 1
        self.series.add(value, t)
        if self._journal is not None:
            self._journal.record(self, "add", value, t)

    def _merge_data(self, other: Counter) -> None:
        self.total += other.total
        self.samples += other.samples

    def aggregate(self, aggregation: str, percentile: float | None = None) -> float | None:
        match aggregation:
            case "count":
                return self.total
            case "rate":
                duration = self.duration
                if not duration:
                    return None
                return self.total / duration
        raise KeyError(aggregation)

    def values(self) -> dict[str, float | None]:
        return {k: self.aggregate(k) for k in self.aggregations}

    def _data_dict(self) -> dict[str, Any]:
        return {"total": self.total, "samples": self.samples}

    def _load_data(self, data: Mapping[str, Any]) -> None:
        self.total = float(data.get("total", 0.0))
        self.samples = int(data.get("samples", 0))


class Gauge(Metric):
    """A level sampled over time: ``system.cpu`` (in %), ``redis.memory_used`` (in B)."""

    kind = Kind.GAUGE
    aggregations = ("value", "min", "max", "avg")

    def __init__(self, name: str, tags: Tags | None = None, unit: str | None = None) -> None:
        super().__init__(name, tags, unit)
        self.last: float | None = None
        self.last_t = -math.inf
        self._min = math.inf
        self._max = -math.inf
        self._sum = 0.0
        self.samples = 0

    @property
    def count(self) -> int:
        return self.samples

    def add(self, value: float, t: float | None = None) -> None:
        t = time.time() if t is None else t
        if t >= self.last_t:
            self.last, self.last_t = value, t
        self._min = min(self._min, value)
        self._max = max(self._max, value)
        self._sum += value
        self.samples += 1
        self.series.add(value, t)
        if self._journal is not None:
            self._journal.record(self, "add", value, t)

    def _merge_data(self, other: Gauge) -> None:
        if other.samples and other.last_t >= self.last_t:
            self.last, self.last_t = other.last, other.last_t
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        self._sum += other._sum
        self.samples += other.samples

    def aggregate(self, aggregation: str, percentile: float | None = None) -> float | None:
        if not self.samples:
            return None
        match aggregation:
            case "value":
                return self.last
            case "min":
                return self._min
            case "max":
                return self._max
            case "avg":
                return self._sum / self.samples
        raise KeyError(aggregation)

    def values(self) -> dict[str, float | None]:
        return {k: self.aggregate(k) for k in self.aggregations}

    def _data_dict(self) -> dict[str, Any]:
        if not self.samples:
            return {"samples": 0}
        return {"samples": self.samples, "last": self.last, "last_t": self.last_t,
                "min": self._min, "max": self._max, "sum": self._sum}

    def _load_data(self, data: Mapping[str, Any]) -> None:
        self.samples = int(data.get("samples", 0))
        if self.samples:
            self.last, self.last_t = data["last"], data["last_t"]
            self._min, self._max, self._sum = data["min"], data["max"], data["sum"]


METRIC_CLASSES: dict[Kind, type[Metric]] = {
    Kind.TREND: Trend, Kind.RATE: Rate, Kind.COUNTER: Counter, Kind.GAUGE: Gauge,
}
#: Aggregations each kind answers, from the metric classes.
AGGREGATIONS: dict[Kind, tuple[str, ...]] = {
    kind: cls.aggregations for kind, cls in METRIC_CLASSES.items()}
#: Every aggregation of the threshold grammar, each once, in the order of the kinds.
AGGREGATION_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    name for cls in METRIC_CLASSES.values() for name in cls.aggregations))


def aggregation_label(name: str) -> str:
    """An aggregation as the grammar writes it: ``p`` is ``p(N)``."""
    return "p(N)" if name == "p" else name


M = TypeVar("M", bound=Metric)


class _Journal:
    """The changes to a :class:`MetricSet` since the last :meth:`MetricSet.take_delta`."""

    __slots__ = ("lock", "pending")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = MetricSet()

    def record(self, metric: Metric, method: str, *args: Any) -> None:
        """Repeat one change of ``metric`` (``add``, ``add_many``...) on its pending delta."""
        with self.lock:
            delta = self.pending._get(type(metric), metric.name, metric.tags, metric.unit)
            getattr(delta, method)(*args)

    def merge(self, metric: Metric) -> None:
        with self.lock:
            self.pending.add(metric)

    def take(self) -> MetricSet:
        with self.lock:
            delta, self.pending = self.pending, MetricSet()
        return delta


class MetricSet:
    """A collection of metrics keyed by name and tags; what every plugin hands back.

    ``trend()``, ``rate()``, ``counter()`` and ``gauge()`` get or create one series::

        metrics = MetricSet()
        metrics.trend("http.req_duration", {"scenario": "load", "name": "health"}).add(12.5)
        metrics.counter("http.reqs", {"scenario": "load"}).add(1)

    With ``deltas=True`` every change is also kept in a pending delta:
    :meth:`take_delta` returns what changed since it was last called (from any thread), and
    the deltas taken over a run merge into exactly the metrics recorded.
    """

    def __init__(self, metrics: Iterable[Metric] = (), *, deltas: bool = False) -> None:
        self._metrics: dict[MetricKey, Metric] = {}
        self._journal = _Journal() if deltas else None
        for metric in metrics:
            self.add(metric)

    def _get(self, cls: type[M], name: str, tags: Tags | None, unit: str | None) -> M:
        key = (name, tag_key(tags))
        metric = self._metrics.get(key)
        if metric is None:
            metric = cls(name, tags, unit)
            metric._journal = self._journal
            self._metrics[key] = metric
        elif not isinstance(metric, cls):
            raise TypeError(f"{name} is a {metric.kind}, not a {cls.kind}")
        return metric

    @property
    def keeps_deltas(self) -> bool:
        """Whether this set was made with ``deltas=True`` (:meth:`take_delta` works)."""
        return self._journal is not None

    def take_delta(self) -> MetricSet:
        """What was recorded since the last call (everything, the first time); the set must
        have been made with ``deltas=True``. Windows are not part of a delta."""
        if self._journal is None:
            raise TypeError("take_delta() needs a MetricSet made with deltas=True")
        return self._journal.take()

    def trend(self, name: str, tags: Tags | None = None, unit: str | None = None) -> Trend:
        return self._get(Trend, name, tags, unit)

    def rate(self, name: str, tags: Tags | None = None) -> Rate:
        return self._get(Rate, name, tags, None)

    def counter(self, name: str, tags: Tags | None = None, unit: str | None = None) -> Counter:
        return self._get(Counter, name, tags, unit)

    def gauge(self, name: str, tags: Tags | None = None, unit: str | None = None) -> Gauge:
        return self._get(Gauge, name, tags, unit)

    def add(self, metric: Metric) -> None:
        """Add one metric, merging it into an existing series with the same name and tags."""
        existing = self._metrics.get(metric.key)
        if existing is None:
            existing = self._metrics[metric.key] = metric.copy()
            existing._journal = self._journal
        else:
            existing.merge(metric)
        if self._journal is not None:
            self._journal.merge(metric)

    def merge(self, other: MetricSet) -> None:
        for metric in other:
            self.add(metric)

    def set_window(self, start: float | None, end: float | None) -> None:
        """Set the window of every metric that has none yet."""
        for metric in self:
            if metric.start is None and metric.end is None:
                metric.set_window(start, end)

    def tag_all(self, **tags: str) -> MetricSet:
        """A copy with ``tags`` added to every metric that does not have them."""
        out = MetricSet()
        for metric in self:
            out.add(metric.copy({**tags, **metric.tags}))
        return out

    def select(self, name: str, tags: Tags | None = None) -> list[Metric]:
        """Every series named ``name`` whose tags include all of ``tags``.

        A series cut to a scenario's window (``window_scenario``) is selected only when
        ``tags`` name that scenario (see :meth:`Metric.matches`).
        """
        wanted = dict(tags or {})
        return [m for m in self._metrics.values() if m.matches(name, wanted)]

    def combined(self, name: str, tags: Tags | None = None) -> Metric | None:
        """All matching series merged into one (exactly, histograms included); None if none."""
        found = self.select(name, tags)
        if not found:
            return None
        merged = type(found[0])(name, tags, found[0].unit)
        for metric in found:
            merged.merge(metric)
        return merged

    def names(self) -> set[str]:
        return {m.name for m in self._metrics.values()}

    def __iter__(self) -> Iterator[Metric]:
        return iter(list(self._metrics.values()))

    def __len__(self) -> int:
        return len(self._metrics)

    def __contains__(self, name: object) -> bool:
        return any(m.name == name for m in self._metrics.values())

    def to_list(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in sorted(self, key=lambda m: m.key)]

    @classmethod
    def from_list(cls, docs: Iterable[Mapping[str, Any]]) -> MetricSet:
        return cls(Metric.from_dict(d) for d in docs)
