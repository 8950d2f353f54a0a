"""Per-scenario request figures from the ``http.*`` metrics of a result document.

A load driver reports one series per tag set (scenario, name, method, status...). A row of
the report merges the series of one endpoint (:func:`perfgate.endpoint_label`: its ``name``
tag, or ``url``, with its ``method``) exactly, histograms included; the total row merges every
series of the scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from perfgate import Metric, MetricSet, endpoint_label

DURATION = "http.req_duration"
REQUESTS = "http.reqs"
FAILED = "http.req_failed"
_HTTP = (DURATION, REQUESTS, FAILED)


@dataclass
class RequestRow:
    """What one endpoint (or the whole scenario) did."""

    label: str
    count: float | None = None
    rate: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    unit: str = "ms"
    errors: float | None = None
    error_rate: float | None = None
    total: bool = False


def request_rows(metrics: MetricSet, scenario: str,
                 duration: float | None = None) -> list[RequestRow]:
    """One row per endpoint of ``scenario``, then a total row when there are several.

    :param duration: the scenario's length in seconds, for a request rate when the driver
        reported no ``http.reqs`` counter.
    """
    groups: dict[str, dict[str, Metric]] = {}
    totals: dict[str, Metric] = {}
    for metric in metrics:
        if metric.name not in _HTTP or metric.tags.get("scenario") != scenario:
            continue
        _merge_into(groups.setdefault(endpoint_label(metric.tags), {}), metric)
        _merge_into(totals, metric)
    rows = [_row(label or "(all requests)", series, duration)
            for label, series in sorted(groups.items())]
    if len(rows) > 1:
        rows.append(_row("Total", totals, duration))
        rows[-1].total = True
    return rows


def _merge_into(series: dict[str, Metric], metric: Metric) -> None:
    if metric.name in series:
        series[metric.name].merge(metric)
    else:
        series[metric.name] = metric.copy()


def _row(label: str, series: Mapping[str, Metric], duration: float | None) -> RequestRow:
    row = RequestRow(label)
    trend = series.get(DURATION)
    if trend is not None and trend.count:
        row.unit = trend.unit
        row.count = float(trend.count)
        row.p50, row.p95, row.p99 = (trend.aggregate("p", p) for p in (50.0, 95.0, 99.0))
    counter = series.get(REQUESTS)
    if counter is not None and counter.count:
        row.count = counter.aggregate("count")
        row.rate = counter.aggregate("rate")
    if row.rate is None and row.count is not None and duration:
        row.rate = row.count / duration
    failed = series.get(FAILED)
    if failed is not None and failed.count:
        row.errors = failed.aggregate("passes")  # a "pass" of http.req_failed is a failure
        row.error_rate = failed.aggregate("rate")
    return row


def scenarios_with_requests(metrics: MetricSet) -> list[str]:
    """Scenarios that have ``http.*`` metrics, in name order."""
    return sorted({m.tags["scenario"] for m in metrics
                   if m.name in _HTTP and "scenario" in m.tags})
