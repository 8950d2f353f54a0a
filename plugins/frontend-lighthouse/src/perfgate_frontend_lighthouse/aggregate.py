"""Several runs of one page into one number per metric, the ways Lighthouse CI does.

- ``median-run`` (the default): the one run nearest the medians of First Contentful Paint and
  Time to Interactive (squared distance; a tie goes to the lower TTI, then to the earlier
  run), and every number from that run, so the numbers fit together and its HTML report shows
  them. This is Lighthouse's own ``computeMedianRun``, which Lighthouse CI uses to pick the
  representative run it uploads.
- ``median``: each metric's median over the runs (the mean of the middle two for an even
  count).
- ``optimistic``: each metric's best run: the highest score, the lowest time, size or shift.
- ``pessimistic``: each metric's worst run.

Lighthouse's numbers are all "lower is better" except scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from perfgate_frontend_lighthouse.lhr import AUDIT_SCORE_PREFIX, LighthouseResult

METHODS = ("median-run", "median", "optimistic", "pessimistic")
_FCP, _TTI = "frontend.fcp", "frontend.tti"


def median(values: Sequence[float]) -> float:
    """The median; the mean of the two middle values for an even count."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def higher_is_better(metric: str) -> bool:
    return metric.endswith("_score") or metric.startswith(AUDIT_SCORE_PREFIX)


def _usable(run: LighthouseResult) -> bool:
    # Lighthouse reads a missing value and a 0 alike (``numericValue || NaN``).
    return all(math.isfinite(run.value(m) or math.nan) and run.value(m) for m in (_FCP, _TTI))


def median_run(runs: Sequence[LighthouseResult]) -> LighthouseResult:
    """The run nearest the medians of FCP and TTI; ``ValueError`` if no run has both."""
    usable = [run for run in runs if _usable(run)]
    if not usable:
        raise ValueError("no run has both First Contentful Paint and Time to Interactive")
    fcp = median([run.value(_FCP) or 0.0 for run in usable])
    tti = median([run.value(_TTI) or 0.0 for run in usable])

    def distance(run: LighthouseResult) -> tuple[float, float]:
        run_fcp, run_tti = run.value(_FCP) or 0.0, run.value(_TTI) or 0.0
        # As Lighthouse computes it (x * x), so that near-ties fall the same way.
        return (fcp - run_fcp) * (fcp - run_fcp) + (tti - run_tti) * (tti - run_tti), run_tti

    return min(usable, key=distance)  # min keeps the earliest of equals


def aggregate(runs: Sequence[LighthouseResult],
              method: str = "median-run") -> dict[str, tuple[float, str]]:
    """One ``(value, unit)`` per metric over ``runs``, by ``method`` (one of :data:`METHODS`)."""
    if method not in METHODS:
        raise ValueError(f"unknown aggregation {method!r}; expected one of {', '.join(METHODS)}")
    if not runs:
        return {}
    if method == "median-run":
        return dict(median_run(runs).values)
    measured: dict[str, list[float]] = {}
    units: dict[str, str] = {}
    for run in runs:
        for metric, (value, unit) in run.values.items():
            measured.setdefault(metric, []).append(value)
            units[metric] = unit
    out: dict[str, tuple[float, str]] = {}
    for metric, values in measured.items():
        if method == "median":
            value = median(values)
        elif (method == "optimistic") == higher_is_better(metric):
            value = max(values)
        else:
            value = min(values)
        out[metric] = (value, units[metric])
    return out
