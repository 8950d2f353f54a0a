"""The ``change-points`` validator: fail the gate when this run starts a shift.

For each check the other validators made in this run (with a measured value), the values of
the same check in the latest kept runs plus this run's are handed to change-point detection
(:mod:`perfgate_history.changepoints`); when a shift starts at this run, in the direction the
check's thresholds call worse (up for ``<``, down for ``>``), the verdict is ``on_shift``.
Otava itself never fails a build; this validator does.

::

    history: runs.db
    validators:
      change-points: {checks: [api-latency], runs: 30}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from perfgate import (
    Check,
    ComponentConfig,
    MetricSet,
    Register,
    ResultDocument,
    TargetsFile,
    ThresholdSyntaxError,
    Validator,
    Verdict,
    format_value,
    hookimpl,
    parse_threshold,
)
from perfgate_history.changepoints import (
    DEFAULT_MAX_PVALUE,
    DEFAULT_MIN_MAGNITUDE,
    ChangePoint,
    change_points,
)
from perfgate_history.provenance import history_name
from perfgate_history.store import HistoryError, open_history


class ChangePointsConfig(ComponentConfig):
    #: The checks to watch (default: every check with a measured value).
    checks: list[str] = Field(default_factory=list)
    #: How many of the latest kept runs come before this one.
    runs: int = Field(30, ge=2)
    #: Only runs of this git branch (default: any branch).
    branch: str | None = None
    #: The significance a shift needs.
    max_pvalue: float = Field(DEFAULT_MAX_PVALUE, gt=0, le=1)
    #: The smallest shift that counts, as a share of the mean before it.
    min_magnitude: float = Field(DEFAULT_MIN_MAGNITUDE, ge=0)
    #: The verdict when this run starts a shift for the worse.
    on_shift: Literal["fail", "warn"] = "fail"


def worse_direction(check: Check) -> int:
    """+1 if higher values are worse for this check, -1 if lower ones are, 0 if unknown."""
    for outcome in (check.critical, check.target):
        if outcome is None:
            continue
        try:
            op = parse_threshold(outcome.expression).op
        except ThresholdSyntaxError:
            continue
        if op in ("<", "<="):
            return 1
        if op in (">", ">="):
            return -1
    return 0


class ChangePointsValidator(Validator[ChangePointsConfig]):
    """Fails a check when this run starts a shift in its history."""

    name = "change-points"
    summary = "fail the gate when this run starts a shift in a check's history"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        watched = [c for c in result.checks if c.measured is not None
                   and c.group != "baseline"
                   and (not self.config.checks or c.name in self.config.checks)]
        if not watched:
            return []
        config = self.context.history
        if config is None:
            return [self._check(c, Verdict.ERROR, "change-points needs a run history: "
                                "history: in the targets file, or --history URL")
                    for c in watched]
        name = history_name(targets.path, config.name)
        try:
            with open_history(config.url) as history:
                runs = history.runs(name, branch=self.config.branch, status="completed",
                                    limit=self.config.runs)
                ids = {r.id for r in runs}
                since = min((r.started for r in runs), default=None)
                points = [p for p in history.points(name, branch=self.config.branch,
                                                    since=since) if p.run.id in ids]
        except HistoryError as exc:
            return [self._check(c, Verdict.ERROR, str(exc)) for c in watched]
        checks = []
        for current in watched:
            past = [p.measured for p in points if p.name == current.name
                    and p.metric == current.metric and p.aggregation == current.aggregation
                    and p.measured is not None]
            checks.append(self._judge(current, past))
        return checks

    def _check(self, current: Check, verdict: Verdict, message: str) -> Check:
        return Check(name=f"{current.name} shift", metric=current.metric, verdict=verdict,
                     aggregation=current.aggregation, measured=current.measured,
                     unit=current.unit, group="change-points", scenario=current.scenario,
                     description=current.description, source=self.instance, message=message)

    def _judge(self, current: Check, past: list[float]) -> Check:
        assert current.measured is not None
        if len(past) < 2:
            return self._check(current, Verdict.SKIP, f"{len(past)} earlier run(s) in the "
                               "history: too few to find a shift")
        values = [*past, current.measured]
        found = change_points(values, max_pvalue=self.config.max_pvalue,
                              min_magnitude=self.config.min_magnitude)
        last = next((c for c in found if c.index == len(values) - 1), None)
        if last is None:
            return self._check(current, Verdict.PASS, f"no shift starts at this run (over "
                               f"{len(values)} runs)")
        direction = worse_direction(current)
        worse = direction == 0 or (last.after - last.before) * direction > 0
        verdict = Verdict(self.config.on_shift) if worse else Verdict.PASS
        return self._check(current, verdict, self._describe(current, last, len(values), worse))

    def _describe(self, current: Check, shift: ChangePoint, runs: int, worse: bool) -> str:
        unit = current.unit
        kind = "for the worse" if worse else "for the better"
        return (f"this run starts a shift {kind}: {current.aggregation or 'value'} "
                f"{format_value(shift.before, unit)} before → "
                f"{format_value(shift.after, unit)} ({shift.change:+.1%}, p = "
                f"{shift.pvalue:.2g}, over {runs} runs)")


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(ChangePointsValidator)
