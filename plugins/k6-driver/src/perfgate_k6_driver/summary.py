"""k6's own end-of-test view (``--summary-export``): its thresholds and its numbers.

In the export, each threshold maps to ``true`` when it was *crossed* (failed)::

    "http_req_duration": {"avg": 12.1, "p(95)": 20.3, "thresholds": {"p(95)<200": false}}

Each threshold becomes one entry of ``details.k6.thresholds`` and, through the ``k6``
validator, one check with ``source: k6``; the verdict is k6's own.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from perfgate import (
    Check,
    Kind,
    MetricSet,
    ThresholdOutcome,
    ThresholdSyntaxError,
    Verdict,
    aggregation_unit,
    format_value,
    parse_threshold,
)
from perfgate_k6_driver.inflight import ENDED, STARTED
from perfgate_k6_driver.names import convert_selector, convert_tags, k6_tags, perfgate_name


@dataclass
class ThresholdResult:
    """One k6 threshold and k6's verdict on it."""

    k6_metric: str  # as the script wrote it: http_req_duration{name:health}
    metric: str  # in perfgate's words: http.req_duration{name:health}
    expression: str  # p(95)<200
    passed: bool | None  # None: k6 gave no verdict (the run broke before its summary)
    aggregation: str | None = None
    measured: float | None = None
    limit: float | None = None
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self, scenario: str) -> Check:
        """This threshold as a perfgate check in the ``scenario``'s group."""
        if self.passed is None:
            verdict, word = Verdict.ERROR, "not evaluated: k6 wrote no summary"
        else:
            verdict = Verdict.PASS if self.passed else Verdict.FAIL
            word = "met" if self.passed else "crossed"
        measured = ""
        if self.measured is not None and self.aggregation:
            measured = f"{self.aggregation} = {format_value(self.measured, self.unit)}; "
        return Check(
            name=f"{scenario}.k6 {self.k6_metric}: {self.expression}", metric=self.metric,
            verdict=verdict,
            aggregation=self.aggregation, measured=self.measured, unit=self.unit,
            critical=ThresholdOutcome(self.expression, self.limit, self.passed),
            message=f"{measured}k6 threshold {self.expression} {word} → {verdict.value}",
            group=scenario, scenario=scenario, source="k6",
            description="threshold from the k6 script")


def read_summary(path: Path) -> dict[str, Any] | None:
    """The export as a dict; None if k6 did not write it (it broke before the end)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def own_view(summary: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """k6's own numbers per metric (its names), without the thresholds: for comparison."""
    out = {}
    for name, values in ((summary or {}).get("metrics") or {}).items():
        if name in (STARTED, ENDED):  # the driver's own markers, not the script's
            continue
        out[name] = {k: v for k, v in values.items() if isinstance(v, int | float)}
    return out


def summary_duration(summary: dict[str, Any] | None) -> float | None:
    """k6's test run duration in seconds: a counter's ``count / rate``, which k6 computed."""
    metrics = (summary or {}).get("metrics") or {}
    for name in ("iterations", "http_reqs", "data_sent", "data_received"):
        values = metrics.get(name) or {}
        count, rate = values.get("count"), values.get("rate")
        if count and rate:
            return float(count) / float(rate)
    return None


def thresholds(summary: dict[str, Any] | None, declared: dict[str, list[str]],
               metrics: MetricSet, kinds: dict[str, tuple[Kind, str]],
               scenario: str) -> list[ThresholdResult]:
    """Every threshold k6 evaluated (from the export), else those the stream declared."""
    results = []
    exported = (summary or {}).get("metrics") or {}
    for k6_metric, values in exported.items():
        for expression, crossed in (values.get("thresholds") or {}).items():
            results.append(_result(k6_metric, expression, not crossed, values, metrics, kinds,
                                   scenario))
    if summary is None:
        for k6_metric, expressions in declared.items():
            for expression in expressions:
                results.append(_result(k6_metric, expression, None, {}, metrics, kinds,
                                       scenario))
    return sorted(results, key=lambda r: (r.k6_metric, r.expression))


def _result(k6_metric: str, expression: str, passed: bool | None, values: dict[str, Any],
            metrics: MetricSet, kinds: dict[str, tuple[Kind, str]],
            scenario: str) -> ThresholdResult:
    result = ThresholdResult(k6_metric, convert_selector(k6_metric, scenario), expression,
                             passed)
    try:
        threshold = parse_threshold(expression)
    except ThresholdSyntaxError:
        return result  # k6 accepted it; perfgate only cannot show the measured value
    base = k6_metric.partition("{")[0].strip()
    kind, unit = kinds.get(base, (None, ""))
    result.aggregation = threshold.label
    result.limit = threshold.value
    if kind is None:
        return result
    result.unit = aggregation_unit(kind, unit, threshold.aggregation)
    key = "value" if kind is Kind.RATE and threshold.aggregation == "rate" else threshold.label
    if isinstance(values.get(key), int | float):
        result.measured = float(values[key])
        return result
    tags = convert_tags(k6_tags(k6_metric), scenario, frozenset())
    own = metrics.combined(perfgate_name(base), tags)
    if own is not None and own.count:
        with contextlib.suppress(KeyError):
            result.measured = own.aggregate(threshold.aggregation, threshold.percentile)
    return result
