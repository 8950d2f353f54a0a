"""The built-in ``baseline`` validator: regressions against an earlier result document.

A target with ``baseline: p(95) <= +10%`` is judged against the same metric, filtered and
aggregated the same way, in the baseline result (``--baseline FILE``, or the validator's
``file:`` option, relative to the targets file). The baseline's histograms are merged again
from the document, so its percentiles are as exact as this run's.

Checks are named ``<target> vs baseline``, in the group ``baseline``, or in the scenario's
group for a scenario's own target.

Verdicts: ``pass`` when the expression holds, ``fail`` when it does not (``warn`` with
``on_regression: warn``), ``skip`` when there is no baseline or either run lacks the metric,
``error`` when the baseline file cannot be read or its data for the metric is corrupt (its
histogram does not decode, or disagrees with the values the document shows). A baseline
that is not a result document of this schema version is refused before the run (exit 2).
"""

from __future__ import annotations

from typing import Literal

from perfgate import (
    BaselineError,
    Check,
    ComponentConfig,
    MetricSet,
    Register,
    ResultDocument,
    TargetsFile,
    TargetUse,
    ThresholdOutcome,
    Validator,
    Verdict,
    aggregation_unit,
    format_value,
    hookimpl,
)


class BaselineConfig(ComponentConfig):
    #: An earlier result.json, relative to the targets file; ``--baseline`` takes precedence.
    file: str | None = None
    #: The verdict of a target whose baseline expression does not hold.
    on_regression: Literal["fail", "warn"] = "fail"


class BaselineValidator(Validator[BaselineConfig]):
    """Judges ``baseline:`` expressions against an earlier result document."""

    name = "baseline"
    summary = "judge targets' baseline: expressions against an earlier result.json"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        wanted = [t for t in targets.targets if t.baseline is not None]
        if not wanted:
            return []
        try:
            baseline = self.context.baseline(self.config.file)
        except BaselineError as exc:
            return [self._check(t, Verdict.ERROR, str(exc)) for t in wanted]
        if baseline is None:
            return [self._check(t, Verdict.SKIP, "no baseline result given (--baseline FILE)")
                    for t in wanted]
        return [self._check(t, Verdict.ERROR, f"the baseline {baseline.path} is corrupt for "
                                              f"{t.metric}: {baseline.corrupt[t.metric]}")
                if t.metric in baseline.corrupt else self._judge(t, metrics, baseline.metrics)
                for t in wanted]

    def _check(self, target: TargetUse, verdict: Verdict, message: str) -> Check:
        assert target.baseline is not None
        # A scenario's own target's comparison stands with it, under the scenario's name:
        # two scenarios' `latency vs baseline` are two checks.
        group = target.group if target.scenario else "baseline"
        return Check(name=f"{target.name} vs baseline", metric=target.selector, verdict=verdict,
                     aggregation=target.baseline.label, group=group,
                     scenario=target.scenario or target.tags.get("scenario"),
                     description=target.config.description, source=self.instance,
                     target=ThresholdOutcome(target.baseline.text), message=message)

    def _judge(self, target: TargetUse, metrics: MetricSet, previous: MetricSet) -> Check:
        expression = target.baseline
        assert expression is not None
        t = expression.threshold
        now = metrics.combined(target.metric, target.tags)
        before = previous.combined(target.metric, target.tags)
        if now is None or now.count == 0:
            return self._check(target, Verdict.SKIP, f"{target.selector} was not measured "
                                                     "in this run")
        if before is None or before.count == 0:
            return self._check(target, Verdict.SKIP, f"{target.selector} is not in the "
                                                     "baseline")
        why = expression.check_applies(now.kind, now.unit)
        if why:
            return self._check(target, Verdict.ERROR, why)
        measured = now.aggregate(t.aggregation, t.percentile)
        reference = before.aggregate(t.aggregation, t.percentile)
        if measured is None or reference is None:
            return self._check(target, Verdict.SKIP, f"{t.label} of {target.selector} could "
                                                     "not be computed in both runs")
        limit = expression.limit(reference, now.kind, now.unit)
        passed = expression.holds(measured, reference, now.kind, now.unit)
        unit = aggregation_unit(now.kind, now.unit, t.aggregation)
        verdict = Verdict.PASS if passed else Verdict(self.config.on_regression)
        change = (f"{(measured - reference) / reference * 100:+.1f}%" if reference
                  else "from 0")
        check = self._check(target, verdict,
                            f"{t.label} = {format_value(measured, unit)}, baseline "
                            f"{format_value(reference, unit)} ({change}); limit "
                            f"{t.op} {format_value(limit, unit)} → {verdict.value}")
        check.measured = measured
        check.unit = unit
        check.target = ThresholdOutcome(expression.text, limit, passed)
        return check


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(BaselineValidator)
