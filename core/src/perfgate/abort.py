"""``abort_on_fail``: critical thresholds judged on the live metrics while the load runs.

A target with ``abort_on_fail: true`` (k6's ``abortOnFail``) has its ``critical`` threshold
judged on every live update (about once a second) on what drivers and collectors published
so far, cumulatively, as the final judge will see it. The first one crossed stops the load:
every running driver is interrupted and no other scenario starts. Judging waits
``delay_abort_eval`` (k6's ``delayAbortEval``) after the target's scenario started, or after
the load began for a target on no scenario, and until then the scenario's early, noisy
numbers stop nothing.

A threshold whose metric has no samples yet is not judged: it has not passed, and it has not
been crossed (k6#4283: a ``rate >= 0.9`` on checks that never ran must not pass). At the end
the judge sees such a target as never measured (``on_missing``, a failure by default).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from perfgate.live import LiveRun
from perfgate.metrics import Metric, aggregation_unit
from perfgate.targets import TargetUse
from perfgate.thresholds import Threshold
from perfgate.units import format_value


@dataclass(frozen=True)
class Abort:
    """The check whose critical threshold stopped the load, and when."""

    check: str
    group: str
    metric: str
    #: When the threshold was found crossed (epoch seconds).
    at: float
    #: Seconds after the load began.
    after: float
    #: What the live metrics gave (``p(95) = 412ms``), in the metric's unit.
    measured: float
    unit: str
    critical: str
    label: str

    @property
    def message(self) -> str:
        """``p(95) = 412ms crossed critical p(95) < 200ms 3.1s after the load began``."""
        return (f"{self.label} = {format_value(self.measured, self.unit)} crossed critical "
                f"{self.critical} {self.after:.1f}s after the load began")

    def to_dict(self) -> dict[str, Any]:
        """The result document's ``run.aborted``."""
        return {"check": self.check, "group": self.group, "metric": self.metric,
                "at": self.at, "after": self.after, "message": self.message}


def crossed(metric: Metric, threshold: Threshold) -> tuple[bool, float] | None:
    """Whether ``metric`` misses ``threshold`` now, with the value measured; None when it
    cannot be said yet (no samples, a rate without a window)."""
    if metric.count == 0 or threshold.check_applies(metric.kind, metric.unit):
        return None
    value = metric.aggregate(threshold.aggregation, threshold.percentile)
    if value is None:
        return None
    return not threshold.holds(value, metric.kind, metric.unit), value


class AbortWatch:
    """Judges the ``abort_on_fail`` targets on the live metrics; see :meth:`look`.

    :param targets: every target of the run (those without ``abort_on_fail`` are ignored).
    """

    def __init__(self, targets: list[TargetUse], live: LiveRun) -> None:
        self.targets = [t for t in targets if t.config.abort_on_fail and t.critical is not None]
        self.live = live

    def __bool__(self) -> bool:
        return bool(self.targets)

    def look(self, t0: float, time_scale: float = 1.0, now: float | None = None
             ) -> Abort | None:
        """The first target whose critical threshold the live metrics cross now, if any.

        :param t0: when the load began (epoch seconds).
        :param time_scale: ``--time-scale``, which scales ``delay_abort_eval`` too.
        """
        now = time.time() if now is None else now
        for target in self.targets:
            window = self._window(target, t0, now)
            if window is None or now - window[0] < target.config.delay_abort_eval * time_scale:
                continue
            metric = self.live.combined(target.metric, target.tags)
            if metric is None:
                continue
            if metric.start is None and metric.end is None:  # live deltas carry no window
                metric.set_window(*window)
            assert target.critical is not None
            outcome = crossed(metric, target.critical)
            if outcome is None or not outcome[0]:
                continue
            critical = target.critical
            return Abort(
                check=target.name, group=target.group, metric=target.selector, at=now,
                after=now - t0, measured=outcome[1],
                unit=aggregation_unit(metric.kind, metric.unit, critical.aggregation),
                critical=critical.text, label=critical.label)
        return None

    def _window(self, target: TargetUse, t0: float, now: float
                ) -> tuple[float, float] | None:
        """The time the target is about so far: its scenario's window (None before it
        started), or the load's; its delay counts from the start."""
        scenario = target.scenario or target.tags.get("scenario")
        if scenario is None:
            return t0, now
        window = self.live.window(scenario)
        if window is None:
            return None
        start, end = window
        return start, now if end is None else end
