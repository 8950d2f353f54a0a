"""The ``prometheus`` collector: PromQL over the run window, the server's view of the run.

::

    collectors:
      prometheus:
        url: http://127.0.0.1:9090
        queries:
          server.p95:
            query: >-
              histogram_quantile(0.95, sum by (le) (increase(
                demo_http_request_duration_seconds_bucket{route!="/metrics"}[$__range])))
            unit: ms
            scale: 1000
          server.rps:
            query: sum(rate(demo_http_request_duration_seconds_count[$__rate_interval]))
            type: range

The window starts one scrape interval before the collector starts (so the last scrape before
the load is the baseline) and ends ``settle`` after it stops (so the first scrape after the
load is in it); ``$__range`` is its length. An ``instant`` query is evaluated once at the end
of the window, a ``range`` query every ``step`` across it. Each series of the answer becomes a
gauge named after the query, tagged with the series' labels (``server.p95{route:/api/records}``
when the query keeps ``route``). A query Prometheus refuses, or one that returns no data, is
recorded as a problem, so a target on it gets an ``error`` verdict that quotes it.

Each point is handed to the run (:meth:`perfgate.Component.publish`) at the time Prometheus
evaluated it, so the core cuts a range query's series to scenario windows like any
collector's samples: ``server.rps{scenario:spike}`` judges the points evaluated while
``spike`` ran. An instant query is the whole run's; one that a target judges over a scenario
(``server.p95{scenario:spike}``) is also evaluated over that scenario's window, widened by a
scrape interval at each end as the run's is, and that value is the scenario's.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from perfgate import (
    BaseUrl,
    Collector,
    ComponentConfig,
    Duration,
    Kind,
    MetricInfo,
    MetricSet,
    RunError,
)
from perfgate_prometheus.api import PrometheusAPI, QueryError, sample_value

_NAME = re.compile(r"[a-zA-Z_][\w.:-]*")


class QuerySpec(ComponentConfig):
    """One PromQL query and the metric it becomes."""

    #: PromQL; ``$__range``, ``$__interval`` and ``$__rate_interval`` are filled in.
    query: str = Field(min_length=1)
    #: ``instant``: one value per series at the end of the window; ``range``: every ``step``.
    type: Literal["instant", "range"] = "instant"
    #: The unit of the metric after ``scale``: ``ms`` for seconds times 1000, ``%``...
    unit: str = ""
    #: Multiplies every value (Prometheus speaks seconds and ratios).
    scale: float = 1.0
    description: str = ""


class PrometheusConfig(ComponentConfig):
    """Options of the ``prometheus`` collector."""

    #: The server's base URL: ``http://127.0.0.1:9090``.
    url: BaseUrl
    #: The metrics to make: name -> query.
    queries: dict[str, QuerySpec] = Field(min_length=1)
    #: Resolution of range queries, and ``$__interval``.
    step: Duration = Field(default=1.0, gt=0)
    #: How long to wait after the load for the last scrape; default: one scrape interval
    #: of the server's configuration and a second.
    settle: Duration | None = None
    #: Each API call's time limit.
    timeout: Duration = Field(default=10.0, gt=0)
    #: Sent as ``Authorization: Bearer ...``.
    bearer_token: SecretStr | None = None

    @field_validator("queries")
    @classmethod
    def _metric_names(cls, value: dict[str, QuerySpec]) -> dict[str, QuerySpec]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a metric name (letters, digits, _ . : -)")
        return value


def promql_duration(seconds: float) -> str:
    """``seconds`` as a PromQL duration, rounded up to the millisecond: ``37250ms``."""
    return f"{max(1, math.ceil(seconds * 1000))}ms"


class PrometheusCollector(Collector[PrometheusConfig]):
    """Runs PromQL queries over the run window when the run's load is over."""

    name = "prometheus"
    summary = "PromQL over the run window: the server's own view (latency, errors, saturation)"

    @classmethod
    def produces(cls, config: PrometheusConfig) -> list[MetricInfo]:
        return [MetricInfo(name, Kind.GAUGE, spec.unit, spec.description or spec.query)
                for name, spec in config.queries.items()]

    def start(self) -> None:
        token = self.config.bearer_token
        self.api = PrometheusAPI(self.config.url, self.config.timeout,
                                 token.get_secret_value() if token else None)
        try:
            self.version = self.api.build_info().get("version", "")
            self.interval = self.api.scrape_interval()
        except QueryError as exc:
            self.api.close()
            raise RunError(f"cannot use Prometheus at {self.config.url}: {exc}") from None
        self.started = time.time()
        self.window: dict[str, float] = {}
        self.answers: dict[str, dict[str, Any]] = {}

    def stop(self) -> MetricSet:
        ended = time.time()
        settle = self.config.settle if self.config.settle is not None else self.interval + 1
        interrupted = self.context.wait(settle)
        start, end = self.started - self.interval, ended + (0 if interrupted else settle)
        self.window = {"start": start, "end": end, "load_start": self.started,
                       "load_end": ended}
        variables = {"$__range": promql_duration(end - start),
                     "$__rate_interval": promql_duration(max(self.config.step + self.interval,
                                                             4 * self.interval)),
                     "$__interval": promql_duration(self.config.step)}
        metrics = MetricSet()
        at: dict[float, MetricSet] = {}  # the points evaluated at each time, to publish
        try:
            for name, spec in self.config.queries.items():
                query = spec.query
                for variable, value in variables.items():
                    query = query.replace(variable, value)
                self._measure(metrics, at, name, spec, query, start, end)
                if spec.type == "instant":
                    for scenario in self._judged_over(name):
                        self._measure_window(metrics, at, name, spec, scenario, end)
        finally:
            self.api.close()
        for t in sorted(at):  # the core cuts them to the windows of the scenarios run at t
            self.publish(at[t], at=t)
        metrics.set_window(self.started, ended)
        for metric in metrics:  # a scenario's own series covers its window
            window = self.context.window(metric.window_scenario or "")
            if window is not None:
                metric.set_window(*window)
        return metrics

    def _measure(self, metrics: MetricSet, at: dict[float, MetricSet], name: str,
                 spec: QuerySpec, query: str, start: float, end: float) -> None:
        answer: dict[str, Any] = {"query": query, "type": spec.type}
        self.answers[name] = answer
        try:
            if spec.type == "instant":
                data = self.api.instant(query, end)
            else:
                data = self.api.range(query, start, end, self.config.step)
        except QueryError as exc:
            answer["error"] = str(exc)
            self.fail(f"{name}: Prometheus refused the query: {exc}: {query}")
            return
        series = _series(data)
        answer["series"] = [{"labels": labels, "values": len(points),
                             "last": points[-1][1] * spec.scale if points else None}
                            for labels, points in series]
        recorded = 0
        for labels, points in series:
            gauge = metrics.gauge(name, labels, unit=spec.unit)
            for t, value in points:
                gauge.add(value * spec.scale, t)
                at.setdefault(t, MetricSet()).gauge(name, labels, unit=spec.unit).add(
                    value * spec.scale, t)
                recorded += 1
        if not recorded:
            what = ("no series" if not series else
                    "only NaN (no samples in the window, or a division by zero)")
            self.fail(f"{name}: the query returned {what} from "
                      f"{_clock(start)} to {_clock(end)}: {query}")

    def _judged_over(self, name: str) -> list[str]:
        """The scenarios over whose windows targets judge metric ``name``."""
        return sorted({target.tags["scenario"] for target in self.context.targets.targets
                       if target.metric == name and "scenario" in target.tags})

    def _measure_window(self, metrics: MetricSet, at: dict[float, MetricSet], name: str,
                        spec: QuerySpec, scenario: str, end: float) -> None:
        """An instant query over one scenario's window: a series per answer series, tagged
        with the scenario and cut to it (``window_scenario``), as the core's cuts are."""
        window = self.context.window(scenario)
        if window is None or window[1] is None:
            return  # not run (--only): its targets skip
        start, stop = window[0] - self.interval, min(window[1] + self.interval, end)
        variables = {"$__range": promql_duration(stop - start),
                     "$__rate_interval": promql_duration(max(self.config.step + self.interval,
                                                             4 * self.interval)),
                     "$__interval": promql_duration(self.config.step)}
        query = spec.query
        for variable, text in variables.items():
            query = query.replace(variable, text)
        self.answers[f"{name}{{scenario:{scenario}}}"] = answer = {"query": query,
                                                                 "type": spec.type}
        try:
            data = self.api.instant(query, stop)
        except QueryError as exc:
            answer["error"] = str(exc)
            self.fail(f"{name}{{scenario:{scenario}}}: Prometheus refused the query: {exc}: "
                      f"{query}")
            return
        series = [(labels, points) for labels, points in _series(data) if points]
        if not series:
            self.fail(f"{name}{{scenario:{scenario}}}: the query returned no series (or only "
                      f"NaN) from {_clock(start)} to {_clock(stop)}: {query}")
        for labels, points in series:
            # into the result, and published at ``end``, after every window: the core cuts
            # nothing there, this series is already the scenario's
            for into in (metrics, at.setdefault(end, MetricSet())):
                gauge = into.gauge(name, {**labels, "scenario": scenario}, unit=spec.unit)
                gauge.window_scenario = scenario
                for t, value in points:
                    gauge.add(value * spec.scale, t)

    def details(self) -> dict[str, Any]:
        return {"url": self.config.url, "version": getattr(self, "version", ""),
                "scrape_interval": getattr(self, "interval", None),
                "window": getattr(self, "window", {}), "queries": getattr(self, "answers", {})}


def _series(data: dict[str, Any],
            ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """``(labels, [(t, value)])`` of each series of an answer, NaN samples left out."""
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        value = sample_value(result[1])
        return [({}, [] if value is None else [(float(result[0]), value)])]
    out = []
    for item in result:
        labels = {k: v for k, v in item.get("metric", {}).items() if k != "__name__"}
        raw = item.get("values") if kind == "matrix" else [item.get("value")]
        points = [(float(t), value) for t, v in raw or []
                  if (value := sample_value(v)) is not None]
        out.append((labels, points))
    return out


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))
