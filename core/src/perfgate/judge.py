"""The judge: one target and the measured metrics in, one :class:`Check` with a verdict out.

- critical threshold missed → ``fail``; target missed (critical met) → ``warn``; else ``pass``;
- the metric was never measured → ``on_missing`` decides (``fail`` by default: the gate fails
  closed), unless the component that measures it broke → ``error`` with its message;
- a scenario that was not run (left out with ``--only``, or never started because the run
  was interrupted) → ``skip``, saying why.
"""

from __future__ import annotations

from collections.abc import Mapping

from perfgate.metrics import Metric, MetricSet, aggregation_unit
from perfgate.result import Check, ThresholdOutcome, Verdict
from perfgate.targets import Owner, TargetUse
from perfgate.thresholds import Threshold
from perfgate.units import format_value


def judge(target: TargetUse, metrics: MetricSet, *,
          broken: Mapping[Owner, list[str]] | None = None,
          producers: list[Owner] | None = None,
          skipped_scenarios: frozenset[str] = frozenset(),
          skipped_with: str | None = None,
          why_not_run: Mapping[str, str] | None = None) -> Check:
    """Judge one target.

    :param broken: component (a scenario, a collector...) → its error messages.
    :param producers: the components that should have produced this target's metric.
    :param skipped_scenarios: scenarios that were not run on purpose.
    :param skipped_with: a scenario not run on purpose, during which alone the metric's
        collectors measure (``during:``).
    :param why_not_run: why each of those scenarios was not run (``run interrupted``);
        ``--only`` when not given.
    """
    check = Check(name=target.name, metric=target.selector, verdict=Verdict.PASS,
                  group=target.group, scenario=target.scenario or target.tags.get("scenario"),
                  description=target.config.description, source=target.source,
                  target=_outcome(target.target), critical=_outcome(target.critical))
    first = target.target or target.critical
    check.aggregation = first.label if first else None
    if check.scenario in skipped_scenarios or skipped_with is not None:
        check.verdict = Verdict.SKIP
        scenario = check.scenario if check.scenario in skipped_scenarios else skipped_with
        why = (why_not_run or {}).get(scenario or "", "--only")
        check.message = f"scenario {scenario!r} was not run ({why})"
        return check
    try:
        metric = metrics.combined(target.metric, target.tags)
    except TypeError as exc:  # two components measured the same name as different kinds
        check.verdict = Verdict.ERROR
        check.message = f"{target.selector} cannot be judged: {exc}"
        return check
    if metric is None or metric.count == 0:
        return _missing(check, target, broken or {}, producers or [])
    failures = []
    for which, threshold in (("target", target.target), ("critical", target.critical)):
        if threshold is None:
            continue
        outcome = getattr(check, which)
        measured, error = _measure(metric, threshold)
        if error:
            check.verdict = Verdict.ERROR
            check.message = error
            return check
        assert measured is not None
        outcome.limit = threshold.limit(metric.kind, metric.unit)
        outcome.passed = threshold.holds(measured, metric.kind, metric.unit)
        if threshold is first:
            check.measured = measured
            check.unit = aggregation_unit(metric.kind, metric.unit, threshold.aggregation)
        if not outcome.passed:
            failures.append(which)
    if "critical" in failures:
        check.verdict = Verdict.FAIL
    elif "target" in failures:
        check.verdict = Verdict.WARN
    check.message = _message(check, metric, target)
    return check


def _outcome(threshold: Threshold | None) -> ThresholdOutcome | None:
    return ThresholdOutcome(threshold.text) if threshold else None


def _measure(metric: Metric, threshold: Threshold) -> tuple[float | None, str | None]:
    why = threshold.check_applies(metric.kind, metric.unit)
    if why:
        return None, why
    value = metric.aggregate(threshold.aggregation, threshold.percentile)
    if value is None:
        return None, f"{threshold.label} of {metric.name} could not be computed " \
                     "(no time window for a rate, or no samples)"
    return value, None


def _missing(check: Check, target: TargetUse, broken: Mapping[Owner, list[str]],
             producers: list[Owner]) -> Check:
    reasons = [f"{owner}: {msg}" for owner in producers for msg in broken.get(owner, [])]
    if reasons:
        check.verdict = Verdict.ERROR
        check.message = f"{target.selector} was not measured because " + "; ".join(reasons)
        return check
    on_missing = target.config.on_missing
    check.verdict = {"fail": Verdict.FAIL, "warn": Verdict.WARN, "skip": Verdict.SKIP}[on_missing]
    check.message = f"{target.selector} was never measured (on_missing: {on_missing})"
    return check


def _message(check: Check, metric: Metric, target: TargetUse) -> str:
    measured = format_value(check.measured, check.unit)
    parts = [f"{check.aggregation} = {measured}"]
    for which in ("target", "critical"):
        outcome = getattr(check, which)
        if outcome is not None:
            mark = "met" if outcome.passed else "missed"
            parts.append(f"{which} {outcome.expression} {mark}")
    if target.target and target.critical and target.target.label != target.critical.label:
        crit = metric.aggregate(target.critical.aggregation, target.critical.percentile)
        parts[-1] += f" ({target.critical.label} = {format_value(crit, check.unit)})"
    return "; ".join(parts) + f" → {check.verdict.value}"
