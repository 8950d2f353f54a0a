"""What the report's charts show, as plain data: one :class:`Chart` per picture.

Everything here is read from the result document: per-second series (``series`` of every
metric, ``[second, count, sum, min, max, last]``, merged exactly across the series of one
scenario or endpoint), the HDR histograms of latencies, and the checks, whose thresholds are
drawn as rules on the charts of the metrics they judge. The browser only draws.

Time charts share one clock: seconds since the load began (the first scenario's start), so
a resource chart lines up with the scenario charts above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from perfgate import (
    Check,
    Metric,
    MetricSet,
    ResultDocument,
    Trend,
    check_labels,
    dimension,
    parse_selector,
)

DURATION = "http.req_duration"
REQUESTS = "http.reqs"
FAILED = "http.req_failed"
#: Percentiles drawn over time, from each second's histogram.
TIME_PERCENTILES = (50.0, 95.0, 99.0)
#: Aggregations that a chart of per-second values can show a threshold of, by metric kind.
_DRAWABLE = {
    "trend": ("p(", "avg", "med", "min", "max"),
    "counter": ("rate",),
    "rate": ("rate",),
    "gauge": ("value", "min", "max", "avg"),
}
#: How many points of the percentile curve per power of ten of 1 / (1 - p).
CURVE_STEPS = 10
#: Highest percentile of the curve: 99.999 (beyond it, one sample in 100,000 is the maximum).
CURVE_DECADES = 5


@dataclass
class Line:
    """One series of a chart: its legend label and a value per x (None: no data)."""

    label: str
    values: list[float | None]


@dataclass
class Rule:
    """A threshold drawn across a chart."""

    label: str
    value: float
    level: str  # "target" or "critical"
    passed: bool | None


@dataclass
class Band:
    """A stretch of the time axis shaded and named: a scenario's window on a collector's
    chart, so that a reader sees what the load was doing at that moment."""

    label: str
    start: float
    end: float


@dataclass
class Chart:
    """One chart: an x axis, its lines and the thresholds drawn on it.

    ``axis`` is ``time`` (x in seconds since the load began), ``percentile`` (x is
    ``1 / (1 - p)``, drawn on a log scale, so 90%, 99%, 99.9% are evenly spaced) or ``run``
    (x numbers the runs of a history, oldest first; ``labels`` name each run).
    """

    id: str
    title: str
    unit: str
    x: list[float]
    lines: list[Line]
    rules: list[Rule] = field(default_factory=list)
    axis: str = "time"
    #: Gauges sampled less often than every second are drawn as lines across the gaps.
    span_gaps: bool = False
    bands: list[Band] = field(default_factory=list)
    #: What each x stands for, where a number does not say it (the runs of a history).
    labels: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "unit": self.unit, "axis": self.axis,
            "x": self.x, "spanGaps": self.span_gaps, "labels": self.labels,
            "lines": [{"label": line.label, "values": line.values} for line in self.lines],
            "rules": [{"label": r.label, "value": r.value, "level": r.level,
                       "passed": r.passed} for r in self.rules],
            "bands": [{"label": b.label, "start": b.start, "end": b.end} for b in self.bands],
        }


class ChartIds:
    """Short, unique element ids for the charts of one report (``c1``, ``c2``...)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"c{self.count}"


def scenario_bands(result: ResultDocument, t0: float) -> list[Band]:
    """Each scenario that ran, as a band on the time axis."""
    bands = []
    for s in result.scenarios:
        started, finished = s.get("started"), s.get("finished")
        if started is not None and finished is not None:
            bands.append(Band(str(s.get("name")), round(float(started) - t0, 3),
                              round(float(finished) - t0, 3)))
    return bands


def load_start(result: ResultDocument) -> float:
    """When the load began: the first scenario's start, else the run's."""
    starts = [float(started) for s in result.scenarios
              if (started := s.get("started")) is not None]
    if starts:
        return min(starts)
    return float(result.run.get("started") or 0.0)


# -- per-second values ---------------------------------------------------------------------------

def per_second(metric: Metric, how: str) -> dict[int, float]:
    """One value per whole second of ``metric``'s series.

    ``how``: ``sum`` (a counter's amount in that second: a rate per second), ``share`` (a
    rate's share of true samples), ``avg``, ``max`` or ``last``.
    """
    out: dict[int, float] = {}
    for second, (count, total, _low, high, last) in metric.series.buckets.items():
        if how == "sum":
            out[second] = total
        elif how == "share":
            out[second] = total / count if count else 0.0
        elif how == "avg":
            if count:
                out[second] = total / count
        elif how == "max":
            out[second] = high
        else:
            out[second] = last
    return out


def _aligned(columns: Sequence[Mapping[int, float]], t0: float, *,
             fill: float | None = None, span: Sequence[int] = ()
             ) -> tuple[list[float], list[list[float | None]]]:
    """A shared x (seconds since ``t0``) and each column's values on it.

    ``fill`` is the value of a second a column has no bucket for, between the first and the
    last second of the chart (0 for counts: nothing happened), else None (a gap). ``span``:
    seconds the chart covers even where no column has a value (the scenario's).
    """
    seconds = sorted({s for column in columns for s in column} | set(span))
    if fill is not None and seconds:
        seconds = list(range(seconds[0], seconds[-1] + 1))
    x = [round(s - t0, 3) for s in seconds]
    values = [[column.get(s, fill) for s in seconds] for column in columns]
    return x, values


# -- thresholds as rules ---------------------------------------------------------------------

def _drawable(check: Check, kind: str) -> bool:
    aggregation = check.aggregation or ""
    return any(aggregation.startswith(a) for a in _DRAWABLE.get(kind, ()))


def rules_for(checks: Iterable[Check], names: Iterable[str], kind: str, unit: str,
              context: Mapping[str, str] | None = None) -> list[Rule]:
    """The thresholds of every check on one of ``names`` that this chart can show.

    A check applies when its selector names one of the metrics and no tag of its filter
    contradicts the chart's ``context`` (``{scenario: load}``); its aggregation must be one
    a per-second chart shows (not ``count``), in the chart's unit.
    """
    wanted = set(names)
    rules = []
    for check in checks:
        try:
            name, tags = parse_selector(check.metric)
        except ValueError:
            continue
        if name not in wanted or not _drawable(check, kind):
            continue
        if any(context and k in context and context[k] != v for k, v in tags.items()):
            continue
        if dimension(check.unit) != dimension(unit):
            continue
        for level, outcome in (("target", check.target), ("critical", check.critical)):
            if outcome is None or outcome.limit is None:
                continue
            label = f"{check.name}: {level} {outcome.expression}"
            rules.append(Rule(label, float(outcome.limit), level, outcome.passed))
    return rules


# -- scenarios ---------------------------------------------------------------------------------

def endpoint(tags: Mapping[str, str]) -> str:
    """``GET health``: the method, then the name, unless the name already starts with it
    (the http driver names an unnamed request ``GET /x``)."""
    name = tags.get("name") or tags.get("url") or ""
    method = tags.get("method") or ""
    if method and name.split(" ", 1)[0].upper() == method.upper():
        return name
    return " ".join(part for part in (method, name) if part) or "(all requests)"


def endpoint_trends(metrics: MetricSet, scenario: str) -> dict[str, Trend]:
    """The latency histogram of each endpoint of ``scenario``, merged exactly."""
    merged: dict[str, Trend] = {}
    for metric in metrics.select(DURATION, {"scenario": scenario}):
        if not isinstance(metric, Trend) or not metric.count:
            continue
        label = endpoint(metric.tags)
        if label in merged:
            merged[label].merge(metric)
        else:
            merged[label] = Trend(DURATION, {"scenario": scenario}, metric.unit)
            merged[label].merge(metric)
    return dict(sorted(merged.items()))


def percentile_curve(trends: Mapping[str, Trend], checks: Iterable[Check], scenario: str,
                     chart_id: str) -> Chart | None:
    """Latency by percentile, one line per endpoint: the HDR histogram's percentile curve.

    x is ``1 / (1 - p)``: 1 at the minimum, 10 at p90, 100 at p99, up to p99.999, as far as
    each endpoint has samples to tell (a percentile beyond one sample in ``count`` is the
    maximum).
    """
    if not trends:
        return None
    steps = CURVE_STEPS * CURVE_DECADES
    x = [10 ** (k / CURVE_STEPS) for k in range(steps + 1)]
    lines = []
    unit = "ms"
    for label, trend in trends.items():
        unit = trend.unit
        known = [k for k, inverse in enumerate(x) if not k or inverse <= trend.count]
        values: list[float | None] = [None] * len(x)
        for k, value in zip(known, trend.percentiles(
                [100.0 * (1.0 - 1.0 / x[k]) for k in known]), strict=True):
            values[k] = value
        lines.append(Line(label, values))
    rules = [r for r in rules_for(checks, [DURATION], "trend", unit, {"scenario": scenario})]
    return Chart(chart_id, f"Latency by percentile: {scenario}", unit, [round(v, 6) for v in x],
                 lines, rules, axis="percentile")


def _latency_columns(merged: Metric) -> tuple[list[str], list[dict[int, float]]]:
    """p50, p95 and p99 of each second (from the per-second histograms; of each few
    seconds in a long run), else, for a document written without them, the average and
    the maximum of each second."""
    if isinstance(merged, Trend):
        columns = merged.second_percentiles(TIME_PERCENTILES)
        if any(columns):
            width = merged.second_histograms.width
            suffix = f" of {width}s" if width > 1 else ""
            return [f"p({p:g}){suffix}" for p in TIME_PERCENTILES], columns
    return ["avg", "max"], [per_second(merged, "avg"), per_second(merged, "max")]


@dataclass
class Earlier:
    """A baseline run to draw beside this one: its metrics, and how many whole seconds its
    load began before this run's (its seconds plus ``shift`` are this run's)."""

    metrics: MetricSet
    shift: int


def _shifted(column: Mapping[int, float], shift: int) -> dict[int, float]:
    return {second + shift: value for second, value in column.items()}


def scenario_charts(result: ResultDocument, metrics: MetricSet, scenario: str, t0: float,
                    ids: ChartIds, before: Earlier | None = None) -> list[Chart]:
    """The time charts of one scenario: latency, requests per second, failed requests and
    errors by kind, virtual users and dropped iterations; each with its thresholds. With a
    baseline (``before``), its p95 and its requests per second are drawn beside this run's,
    on the same clock (seconds since each run's load began)."""
    context = {"scenario": scenario}
    checks = result.checks
    charts: list[Chart] = []
    span = sorted({second for name in (DURATION, REQUESTS, FAILED)
                   for metric in metrics.select(name, context)
                   for second in metric.series.buckets})
    span = span[:1] + span[-1:]
    latency = metrics.combined(DURATION, context)
    if latency is not None and latency.count:
        labels, columns = _latency_columns(latency)
        old = before.metrics.combined(DURATION, context) if before is not None else None
        if before is not None and isinstance(old, Trend) and old.count:
            labels.append("baseline p(95)")
            columns.append(_shifted(old.second_percentiles((95.0,))[0], before.shift))
        x, values = _aligned(columns, t0)
        charts.append(Chart(ids(), f"Latency: {scenario}", latency.unit, x,
                            [Line(label, v) for label, v in zip(labels, values, strict=True)],
                            rules_for(checks, [DURATION], "trend", latency.unit, context)))
    requests = metrics.combined(REQUESTS, context)
    if requests is not None and requests.count:
        labels, columns = ["requests/s"], [per_second(requests, "sum")]
        old = before.metrics.combined(REQUESTS, context) if before is not None else None
        if before is not None and old is not None and old.count:
            labels.append("baseline requests/s")
            columns.append(_shifted(per_second(old, "sum"), before.shift))
        x, values = _aligned(columns, t0, fill=0.0, span=span)
        charts.append(Chart(ids(), f"Requests per second: {scenario}", "/s", x,
                            [Line(label, v) for label, v in zip(labels, values, strict=True)],
                            rules_for(checks, [REQUESTS], "counter", "/s", context)))
    failed = metrics.combined(FAILED, context)
    if failed is not None and failed.count:
        x, values = _aligned([per_second(failed, "share")], t0)
        charts.append(Chart(ids(), f"Failed requests: {scenario}", "ratio", x,
                            [Line("failed share", values[0])],
                            rules_for(checks, [FAILED], "rate", "ratio", context)))
    kinds: dict[str, dict[int, float]] = {}
    for metric in metrics.select(REQUESTS, context):
        error = metric.tags.get("error")
        if error is None or not metric.series.buckets:
            continue
        column = kinds.setdefault(error, {})
        for second, amount in per_second(metric, "sum").items():
            column[second] = column.get(second, 0.0) + amount
    if kinds:
        names = sorted(kinds)
        x, values = _aligned([kinds[k] for k in names], t0, fill=0.0, span=span)
        charts.append(Chart(ids(), f"Errors by kind: {scenario}", "/s", x,
                            [Line(k, v) for k, v in zip(names, values, strict=True)]))
    users = [(label, gauge) for label, name in (("VUs", "vus"), ("VUs max", "vus_max"))
             if (gauge := metrics.combined(name, context)) is not None and gauge.count]
    dropped = metrics.combined("dropped_iterations", context)
    columns = [per_second(gauge, "last") for _label, gauge in users]
    labels = [label for label, _gauge in users]
    if dropped is not None and dropped.count:
        columns.append(per_second(dropped, "sum"))
        labels.append("dropped iterations/s")
    if columns:
        x, values = _aligned(columns, t0)
        charts.append(Chart(ids(), f"Virtual users: {scenario}", "", x,
                            [Line(label, v) for label, v in zip(labels, values, strict=True)],
                            span_gaps=True))
    return charts


# -- collectors --------------------------------------------------------------------------------

def family(name: str) -> str:
    """``system`` of ``system.cpu``: charts of one family stand together."""
    return name.split(".", 1)[0]


def collector_series(metrics: MetricSet) -> list[Metric]:
    """Series that collectors measured over the whole run: gauges and counters without a
    ``scenario`` or ``page`` tag (a driver's own series carry a scenario; a page's numbers
    have a section of their own) and not cut to a scenario's window."""
    return [m for m in metrics
            if m.kind.value in ("gauge", "counter") and m.count
            and not {"scenario", "page"} & set(m.tags) and m.window_scenario is None]


def _label(metric: Metric, prefix: str) -> str:
    name = metric.name.removeprefix(prefix + ".")
    if metric.tags:
        name += " {" + ", ".join(f"{k}: {v}" for k, v in sorted(metric.tags.items())) + "}"
    return name


def collector_charts(result: ResultDocument, series: Sequence[Metric], t0: float,
                     ids: ChartIds) -> dict[str, list[Chart]]:
    """Charts of collectors' series by family: one chart per family and unit (``system``
    in %, ``system`` in B/s...), a line per series, with the thresholds of their checks and
    the scenarios' windows shaded."""
    groups: dict[tuple[str, str], list[Metric]] = {}
    for metric in series:
        unit = metric.unit if metric.kind.value == "gauge" else \
            (f"{metric.unit}/s" if metric.unit else "/s")
        groups.setdefault((family(metric.name), unit), []).append(metric)
    out: dict[str, list[Chart]] = {}
    bands = scenario_bands(result, t0)
    for (fam, unit), members in sorted(groups.items()):
        members.sort(key=lambda m: m.key)
        counters = members[0].kind.value == "counter"
        columns = [per_second(m, "sum" if counters else "last") for m in members]
        x, values = _aligned(columns, t0, fill=0.0 if counters else None)
        kind = "counter" if counters else "gauge"
        rules = rules_for(result.checks, sorted({m.name for m in members}), kind, unit)
        title = f"{fam} ({unit})" if unit else fam
        out.setdefault(fam, []).append(Chart(
            ids(), title, unit, x, [Line(_label(m, fam), v) for m, v in
                                    zip(members, values, strict=True)],
            rules, span_gaps=not counters, bands=bands))
    return out


# -- history -----------------------------------------------------------------------------------

def history_charts(result: ResultDocument, earlier: Sequence[ResultDocument],
                   ids: ChartIds) -> list[Chart]:
    """Each measured check of this run beside its values in ``earlier`` runs (newest first,
    as the run history gives them; this run itself, if stored already, is left out), oldest
    run first. A check is matched by its name, group, metric and aggregation; a run that
    did not have it leaves a gap. Checks no earlier run measured are left out."""
    this_id = result.run.get("id")
    runs = [doc for doc in reversed(earlier) if doc.run.get("id") != this_id]
    if not runs:
        return []
    labels = [_run_label(doc) for doc in runs] + [f"this run ({this_id})"]
    measured = [{_check_key(c): c.measured for c in doc.checks} for doc in runs]
    charts = []
    for check, label in zip(result.checks, check_labels(result.checks), strict=True):
        if check.measured is None or check.aggregation is None:
            continue
        key = _check_key(check)
        values = [m.get(key) for m in measured]
        if all(v is None for v in values):
            continue
        rules = [Rule(f"{level} {o.expression}", float(o.limit), level, o.passed)
                 for level, o in (("target", check.target), ("critical", check.critical))
                 if o is not None and o.limit is not None]
        charts.append(Chart(ids(), f"{label}: {check.aggregation}", check.unit,
                            [float(i) for i in range(1, len(runs) + 2)],
                            [Line(check.aggregation, [*values, check.measured])],
                            rules, axis="run", span_gaps=True, labels=labels))
    return charts


def _check_key(check: Check) -> tuple[str, str, str, str | None]:
    return (check.name, check.group, check.metric, check.aggregation)


def _run_label(doc: ResultDocument) -> str:
    started = doc.run.get("started")
    when = (datetime.fromtimestamp(float(started), UTC).strftime("%Y-%m-%d %H:%M")
            if isinstance(started, int | float) else "")
    commit = str((doc.details.get("history") or {}).get("git_commit") or "")[:8]
    return " ".join(part for part in (str(doc.run.get("id", "?")), when, commit) if part)
