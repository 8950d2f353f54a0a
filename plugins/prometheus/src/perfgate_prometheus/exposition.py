"""A run's result as Prometheus metrics: the text the Pushgateway takes, and its group URL.

Every gate run becomes (``targets`` and ``job`` come from the grouping key):

=====================================================  =====================================
``perfgate_run_verdict{verdict}``                      1 for the run's verdict, 0 for the
                                                       other three (pass, warn, fail, error)
``perfgate_run_exit_code``                             the exit code
``perfgate_run_start_timestamp_seconds``, ``..._end_``  when the run started and ended
``perfgate_run_duration_seconds``                      how long it took
``perfgate_run_checks{verdict}``                       checks by verdict
``perfgate_run_info{run_id,status,version}``           1
``perfgate_check_verdict{check,scenario,verdict}``     1 for the check's verdict, else 0
``perfgate_check_value{check,scenario,metric,          what the check measured, in ``unit``
aggregation,unit}``
``perfgate_check_target{check,scenario,unit}``,        the check's thresholds, in ``unit``
``perfgate_check_critical{...}``
=====================================================  =====================================

and, per scenario, the key metrics named in the reporter's ``metrics``: a trend as a summary
(``perfgate_http_req_duration_seconds{scenario,quantile}`` with ``_sum`` and ``_count``;
latencies in seconds, sizes in bytes), a rate as ``perfgate_<name>_ratio``, a counter as
``perfgate_<name>`` (the count) and ``perfgate_<name>_per_second``, a gauge as
``perfgate_<name>{stat="avg|min|max|last"}``.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from perfgate import Kind, Metric, MetricSet, ResultDocument, Trend, __version__

VERDICTS = ("pass", "warn", "fail", "error")
QUANTILES = (0.5, 0.9, 0.95, 0.99)
#: Unit -> (suffix, factor to the base unit Prometheus names use).
BASE_UNITS = {"ms": ("seconds", 0.001), "s": ("seconds", 1.0), "B": ("bytes", 1.0),
              "%": ("percent", 1.0), "B/s": ("bytes_per_second", 1.0)}
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


@dataclass
class Family:
    """One metric family: a name, a type, help, and its samples ``(suffix, labels, value)``."""

    name: str
    type: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append((suffix, labels, value))


def metric_name(name: str) -> str:
    """A perfgate metric name in Prometheus: ``http.req_duration`` -> ``http_req_duration``."""
    cleaned = _INVALID.sub("_", name)
    return cleaned if not cleaned[:1].isdigit() else f"_{cleaned}"


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(families: Iterable[Family]) -> str:
    """The Prometheus text exposition format (0.0.4) of ``families``."""
    lines = []
    for family in families:
        if not family.samples:
            continue
        lines += [f"# HELP {family.name} {family.help}", f"# TYPE {family.name} {family.type}"]
        for suffix, labels, value in family.samples:
            text = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
            lines.append(f"{family.name}{suffix}{{{text}}} {_number(value)}" if text
                         else f"{family.name}{suffix} {_number(value)}")
    return "\n".join(lines) + "\n"


def grouping_path(job: str, labels: dict[str, str]) -> str:
    """The Pushgateway URL path of a group: ``/metrics/job/<job>/<label>/<value>...``.

    A value with a ``/`` (or an empty one) is written base64url-encoded after
    ``<label>@base64``, as the Pushgateway's API requires.
    """
    parts = ["metrics"]
    for name, value in [("job", job), *labels.items()]:
        if "/" in value or not value:
            encoded = base64.urlsafe_b64encode(value.encode()).decode() or "="
            parts += [f"{name}@base64", encoded]
        else:
            parts += [name, quote(value, safe="")]
    return "/" + "/".join(parts)


def run_families(result: ResultDocument) -> list[Family]:
    """The run's verdict, exit code, times and check counts."""
    run = result.run
    verdict = Family("perfgate_run_verdict", "gauge",
                     "1 for the verdict of the last run (pass, warn, fail, error), else 0.")
    for name in VERDICTS:
        verdict.add(1.0 if result.verdict == name else 0.0, verdict=name)
    checks = Family("perfgate_run_checks", "gauge", "Checks of the last run by verdict.")
    for name in VERDICTS:
        checks.add(float(sum(c.verdict.value == name for c in result.checks)), verdict=name)
    families = [verdict, checks]
    exit_code = Family("perfgate_run_exit_code", "gauge", "Exit code of the last run.")
    exit_code.add(float(result.exit_code))
    info = Family("perfgate_run_info", "gauge", "The last run: its id, status and perfgate.")
    info.add(1.0, run_id=str(run.get("id", "")), status=str(run.get("status", "")),
             version=__version__)
    families += [exit_code, info]
    for key, name, text in [("started", "start_timestamp_seconds", "When the last run started."),
                            ("finished", "end_timestamp_seconds", "When the last run ended."),
                            ("duration", "duration_seconds", "How long the last run took.")]:
        value = run.get(key)
        if isinstance(value, int | float):
            family = Family(f"perfgate_run_{name}", "gauge", text)
            family.add(float(value))
            families.append(family)
    return families


def check_families(result: ResultDocument) -> list[Family]:
    """Each check's verdict, measured value and thresholds."""
    verdict = Family("perfgate_check_verdict", "gauge",
                     "1 for the check's verdict in the last run, else 0.")
    value = Family("perfgate_check_value", "gauge", "What the check measured, in `unit`.")
    target = Family("perfgate_check_target", "gauge", "The check's target limit, in `unit`.")
    critical = Family("perfgate_check_critical", "gauge",
                      "The check's critical limit, in `unit`.")
    for check in result.checks:
        labels = {"check": check.name, "scenario": check.scenario or ""}
        for name in VERDICTS:
            verdict.add(1.0 if check.verdict.value == name else 0.0, **labels, verdict=name)
        if check.measured is not None:
            value.add(check.measured, **labels, metric=check.metric,
                      aggregation=check.aggregation or "", unit=check.unit)
        for family, outcome in ((target, check.target), (critical, check.critical)):
            if outcome is not None and outcome.limit is not None:
                family.add(outcome.limit, **labels, unit=check.unit)
    return [verdict, value, target, critical]


def _metric_families(name: str, metrics: Sequence[tuple[str, Metric]]) -> list[Family]:
    """The families of one perfgate metric, one sample set per ``(scenario, metric)``."""
    first = metrics[0][1]
    base = f"perfgate_{metric_name(name)}"
    suffix, factor = BASE_UNITS.get(first.unit, ("", 1.0))
    named = f"{base}_{suffix}" if suffix else base
    if first.kind is Kind.TREND:
        family = Family(named, "summary", f"{name} of the last run, by scenario.")
        for scenario, metric in metrics:
            assert isinstance(metric, Trend)
            for q in QUANTILES:
                p = metric.percentile(q * 100)
                if p is not None:
                    family.add(p * factor, scenario=scenario, quantile=f"{q:g}")
            family.add(float(metric.aggregate("avg") or 0.0) * metric.count * factor, "_sum",
                       scenario=scenario)
            family.add(float(metric.count), "_count", scenario=scenario)
        return [family]
    if first.kind is Kind.RATE:
        family = Family(f"{base}_ratio", "gauge", f"{name}: share of true samples, 0..1.")
        for scenario, metric in metrics:
            rate = metric.aggregate("rate")
            if rate is not None:
                family.add(rate, scenario=scenario)
        return [family]
    if first.kind is Kind.COUNTER:
        count = Family(named, "gauge", f"{name}: total in the last run, by scenario.")
        per_second = Family(f"{base}_per_second", "gauge", f"{name} per second of the run.")
        for scenario, metric in metrics:
            count.add(float(metric.aggregate("count") or 0.0) * factor, scenario=scenario)
            rate = metric.aggregate("rate")
            if rate is not None:
                per_second.add(rate * factor, scenario=scenario)
        return [count, per_second]
    family = Family(named, "gauge", f"{name} over the last run: avg, min, max, last value.")
    for scenario, metric in metrics:
        for stat, aggregation in (("avg", "avg"), ("min", "min"), ("max", "max"),
                                  ("last", "value")):
            measured = metric.aggregate(aggregation)
            if measured is not None:
                family.add(measured * factor, scenario=scenario, stat=stat)
    return [family]


def key_metric_families(result: ResultDocument, names: Sequence[str]) -> list[Family]:
    """The key metrics ``names``, each merged over every series of one scenario."""
    measured = MetricSet.from_list(result.metrics)
    scenarios = [str(s["name"]) for s in result.scenarios]
    families: list[Family] = []
    for name in names:
        found = [(s, m) for s in scenarios if (m := measured.combined(name, {"scenario": s}))]
        if not found and (m := measured.combined(name)) is not None:
            found = [("", m)]  # a collector's metric: the whole run
        if found:
            families += _metric_families(name, found)
    return families


def gate_families(result: ResultDocument, key_metrics: Sequence[str]) -> list[Family]:
    """Everything a run pushes."""
    return [*run_families(result), *check_families(result),
            *key_metric_families(result, key_metrics)]
