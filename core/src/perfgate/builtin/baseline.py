"""The built-in ``baseline`` validator: regressions against earlier runs, with the noise in mind.

A target with ``baseline: p(95) <= +10%`` is judged against the same metric, filtered and
aggregated the same way, in the baseline: an earlier result document (``--baseline FILE``,
or the validator's ``file:`` option, relative to the targets file), or with
``against: history`` the last ``runs`` runs of the run history (their metrics merged, so
their percentiles are as exact as this run's).

Checks are named ``<target> vs baseline``, in the group ``baseline``, or in the scenario's
group for a scenario's own target.

A change is a regression only when chance does not explain it: each side gets a confidence
interval from its own counts (:func:`perfgate.confidence_interval`); with several baseline
runs, the baseline's interval also spans how much those runs differed from each other. A
value beyond the limit whose interval still reaches the limit (drawn from the baseline's
interval) is within noise and passes; the message gives both intervals.

Verdicts: ``pass`` when the expression holds or the miss is within noise, ``fail`` when it
does not hold beyond noise (``warn`` with ``on_regression: warn``), ``on_missing_baseline``
(``skip`` by default) when there is no baseline, either side lacks the metric or has fewer
than ``min_samples`` samples, ``error`` when the baseline cannot be read or its data for the
metric is corrupt (its histogram does not decode, or disagrees with the values the document
shows). A baseline file that is not a result document of this schema version is refused
before the run (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from perfgate import (
    BaselineError,
    Check,
    ComponentConfig,
    Interval,
    Metric,
    MetricSet,
    Register,
    ResultDocument,
    TargetsFile,
    TargetUse,
    ThresholdOutcome,
    Validator,
    Verdict,
    aggregation_unit,
    confidence_interval,
    format_value,
    hookimpl,
)


class BaselineConfig(ComponentConfig):
    #: An earlier result.json, relative to the targets file; ``--baseline`` takes precedence.
    file: str | None = None
    #: Where the baseline comes from: that ``file``, or the run ``history``.
    against: Literal["file", "history"] = "file"
    #: With ``against: history``: how many of the latest earlier runs make the baseline.
    runs: int = Field(10, ge=1)
    #: With ``against: history``: only runs of this git branch (default: any branch).
    branch: str | None = None
    #: The verdict of a target whose baseline expression does not hold beyond noise.
    on_regression: Literal["fail", "warn"] = "fail"
    #: The verdict when there is nothing to compare with: no baseline, a metric missing on
    #: either side, or fewer than ``min_samples`` samples.
    on_missing_baseline: Literal["fail", "warn", "skip"] = "skip"
    #: Fewer samples than this (requests, in either run) are too few to compare.
    min_samples: int = Field(30, ge=1)
    #: The confidence level of the intervals; 0 compares the measured values as they are.
    confidence: float = Field(0.95, ge=0, lt=1)


@dataclass
class _Side:
    """One side of a comparison: the value, its interval and how many samples it had."""

    value: float
    interval: Interval | None
    samples: int
    runs: int = 1

    def describe(self, unit: str) -> str:
        text = format_value(self.value, unit)
        if self.interval is not None and self.interval.low != self.interval.high:
            text += (f" [{format_value(self.interval.low, unit)}, "
                     f"{format_value(self.interval.high, unit)}]")
        return text


class BaselineValidator(Validator[BaselineConfig]):
    """Judges ``baseline:`` expressions against earlier runs, noise-aware."""

    name = "baseline"
    summary = "judge targets' baseline: expressions against an earlier result or the history"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        wanted = [t for t in targets.targets if t.baseline is not None]
        if not wanted:
            return []
        try:
            earlier, corrupt, where = self._earlier_runs()
        except BaselineError as exc:
            return [self._check(t, Verdict.ERROR, str(exc)) for t in wanted]
        if not earlier:
            why = ("no earlier run in the history" if self.config.against == "history"
                   else "no baseline result given (--baseline FILE)")
            return [self._missing(t, why) for t in wanted]
        merged = MetricSet()
        for run in earlier:
            merged.merge(run)
        return [self._check(t, Verdict.ERROR, f"the baseline {where} is corrupt for "
                                              f"{t.metric}: {corrupt[t.metric]}")
                if t.metric in corrupt else self._judge(t, metrics, merged, earlier)
                for t in wanted]

    def _earlier_runs(self) -> tuple[list[MetricSet], dict[str, str], str]:
        """The baseline's runs, the metrics it has corrupt data for, and where it is."""
        if self.config.against == "history":
            runs = []
            for doc in self.context.history_runs(self.config.runs, self.config.branch):
                try:
                    runs.append(doc.metric_set())
                except (KeyError, TypeError, ValueError) as exc:
                    raise BaselineError(f"run {doc.run.get('id')} of the history has metrics "
                                        f"that cannot be read ({type(exc).__name__}: "
                                        f"{exc})") from None
            return runs, {}, "history"
        baseline = self.context.baseline(self.config.file)
        if baseline is None:
            return [], {}, ""
        return [baseline.metrics], baseline.corrupt, str(baseline.path)

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

    def _missing(self, target: TargetUse, why: str) -> Check:
        return self._check(target, Verdict(self.config.on_missing_baseline), why)

    def _side(self, metric: Metric, target: TargetUse) -> _Side | None:
        assert target.baseline is not None
        t = target.baseline.threshold
        value = metric.aggregate(t.aggregation, t.percentile)
        if value is None:
            return None
        return _Side(value, confidence_interval(metric, t.aggregation, t.percentile,
                                     self.config.confidence), metric.count)

    def _judge(self, target: TargetUse, metrics: MetricSet, merged: MetricSet,
               runs: list[MetricSet]) -> Check:
        expression = target.baseline
        assert expression is not None
        t = expression.threshold
        now_metric = metrics.combined(target.metric, target.tags)
        before_metric = merged.combined(target.metric, target.tags)
        if now_metric is None or now_metric.count == 0:
            return self._missing(target, f"{target.selector} was not measured in this run")
        if before_metric is None or before_metric.count == 0:
            return self._missing(target, f"{target.selector} is not in the baseline")
        why = expression.check_applies(now_metric.kind, now_metric.unit)
        if why:
            return self._check(target, Verdict.ERROR, why)
        now = self._side(now_metric, target)
        before = self._side(before_metric, target)
        if now is None or before is None:
            return self._missing(target, f"{t.label} of {target.selector} could not be "
                                         "computed in both runs")
        least = self.config.min_samples
        for side, where in ((now, "this run"), (before, "the baseline")):
            if side.samples < least:
                return self._missing(target, f"too few samples to compare: {side.samples} in "
                                             f"{where}, at least {least} needed (min_samples)")
        before.runs = len(runs)
        self._add_spread(before, runs, target)
        return self._verdict(target, now, before, now_metric)

    def _add_spread(self, before: _Side, runs: list[MetricSet], target: TargetUse) -> None:
        """Widen the baseline's interval to the values its runs had one by one."""
        if len(runs) < 2 or before.interval is None:
            return
        for run in runs:
            metric = run.combined(target.metric, target.tags)
            side = self._side(metric, target) if metric is not None else None
            if side is not None:
                before.interval = before.interval.widen(side.value)

    def _verdict(self, target: TargetUse, now: _Side, before: _Side, metric: Metric) -> Check:
        expression = target.baseline
        assert expression is not None
        t = expression.threshold
        kind, metric_unit = metric.kind, metric.unit
        limit = expression.limit(before.value, kind, metric_unit)
        passed = expression.holds(now.value, before.value, kind, metric_unit)
        noise = False
        if not passed and now.interval is not None and before.interval is not None:
            # The most favourable reading of both intervals: does the expression hold then?
            if t.op in ("<", "<="):
                noise = expression.holds(now.interval.low, before.interval.high, kind,
                                         metric_unit)
            elif t.op in (">", ">="):
                noise = expression.holds(now.interval.high, before.interval.low, kind,
                                         metric_unit)
        unit = aggregation_unit(kind, metric_unit, t.aggregation)
        verdict = Verdict.PASS if passed or noise else Verdict(self.config.on_regression)
        change = (f"{(now.value - before.value) / before.value * 100:+.1f}%" if before.value
                  else "from 0")
        runs = f" over {before.runs} runs" if before.runs > 1 else ""
        shown = [i for i in (now.interval, before.interval) if i is not None and i.low < i.high]
        level = f" ({shown[0].confidence:.0%} intervals)" if shown else ""
        within = ": beyond the limit, within noise" if noise else ""
        message = (f"{t.label} = {now.describe(unit)}, baseline {before.describe(unit)}{runs} "
                   f"({change}); limit {t.op} {format_value(limit, unit)}{level}{within} "
                   f"→ {verdict.value}")
        check = self._check(target, verdict, message)
        check.measured = now.value
        check.unit = unit
        check.target = ThresholdOutcome(expression.text, limit, passed or noise)
        return check


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(BaselineValidator)
