"""Trends: each check's measured values over the runs of a history, and their change points."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perfgate_history.changepoints import ChangePoint, change_points
from perfgate_history.store import CheckPoint, StoredRun

BARS = "▁▂▃▄▅▆▇█"


@dataclass
class Series:
    """One check's values, oldest run first."""

    check: str
    metric: str
    aggregation: str | None
    unit: str
    scenario: str | None
    points: list[CheckPoint] = field(default_factory=list)
    change_points: list[ChangePoint] | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.check, self.metric, self.aggregation)

    @property
    def values(self) -> list[float]:
        return [p.measured for p in self.points if p.measured is not None]

    @property
    def measured(self) -> list[CheckPoint]:
        return [p for p in self.points if p.measured is not None]

    def shift_runs(self) -> list[StoredRun]:
        """The run that starts each shift."""
        points = self.measured
        return [points[c.index].run for c in self.change_points or ()]

    def to_dict(self) -> dict[str, Any]:
        points = self.measured
        doc: dict[str, Any] = {
            "check": self.check, "metric": self.metric, "aggregation": self.aggregation,
            "unit": self.unit, "scenario": self.scenario,
            "points": [{"run": p.run.id, "started": p.run.started, "value": p.measured,
                        "verdict": p.verdict, "git_commit": p.run.git_commit,
                        "git_branch": p.run.git_branch} for p in points],
        }
        if self.change_points is not None:
            doc["change_points"] = [
                {"run": points[c.index].run.id, "index": c.index,
                 "started": points[c.index].run.started, "before": c.before,
                 "after": c.after, "change": c.change, "pvalue": c.pvalue}
                for c in self.change_points]
        return doc


def series(points: Iterable[CheckPoint], checks: Sequence[str] = ()) -> list[Series]:
    """Points grouped by check, metric and aggregation, in the order checks first appear;
    only the checks named in ``checks``, if any."""
    found: dict[tuple[str, str, str | None], Series] = {}
    for point in points:
        if checks and point.name not in checks:
            continue
        key = (point.name, point.metric, point.aggregation)
        if key not in found:
            found[key] = Series(point.name, point.metric, point.aggregation, point.unit,
                                point.scenario)
        found[key].points.append(point)
    return list(found.values())


def detect(all_series: Iterable[Series], **options: Any) -> None:
    """Fill each series' change points (:func:`perfgate_history.changepoints.change_points`)."""
    for s in all_series:
        s.change_points = change_points(s.values, **options)


def sparkline(values: Sequence[float], width: int = 30) -> str:
    """The last ``width`` values as block characters, lowest to highest."""
    shown = list(values)[-width:]
    if not shown:
        return ""
    low, high = min(shown), max(shown)
    if high == low:
        return BARS[len(BARS) // 2] * len(shown)
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) / (high - low) * top)] for v in shown)
