"""Threshold expressions in k6's grammar: ``agg op value[unit]``.

::

    expression  := aggregation ws* operator ws* number unit?
    aggregation := avg | min | max | med | p(N) | count | rate | passes | fails | value
    operator    := < | <= | > | >= | == | !=
    unit        := ms | s | m | % | B | KB | MB | GB

``p(95) < 200ms``, ``rate < 5%``, ``rate > 500``, ``max < 80%``, ``value <= 512MB``.

A *baseline* expression is relative to the same aggregation in an earlier run: its value
carries a sign. ``p(95) <= +10%`` holds when p(95) is at most 10% above the baseline's;
``avg <= +20ms`` when the average grew by at most 20 ms; ``rate >= -0.01`` when a rate fell
by at most one point. ``%`` is always a share of the baseline's value here.

A value with a unit is converted to the metric's unit before comparing: ``1s`` against a
trend in ms is 1000; ``5%`` against a rate (a ratio from 0 to 1) is 0.05, against a gauge in
percent (CPU) it is 5; ``512MB`` is 536870912 B (sizes are binary: 1 KB = 1024 B). A bare
number is compared as it is, in the metric's unit.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from perfgate.errors import ThresholdSyntaxError
from perfgate.metrics import (
    AGGREGATION_NAMES,
    AGGREGATIONS,
    Kind,
    aggregation_label,
    aggregation_unit,
)
from perfgate.units import SIZE_UNITS, THRESHOLD_UNITS, TIME_UNITS, dimension

#: The largest number a threshold may hold: 10^15 ms is 31,000 years.
MAX_VALUE = 1e15
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}
#: The grammar's aggregations as written (``p(N)``), from the metric classes.
_LABELS = [aggregation_label(name) for name in AGGREGATION_NAMES]
_WS = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_]+")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_UNIT = re.compile(r"[A-Za-zµ%]+")


@dataclass(frozen=True)
class Threshold:
    """One parsed expression; ``aggregation`` is ``p`` for percentiles (``percentile`` set)."""

    text: str
    aggregation: str
    percentile: float | None
    op: str
    value: float
    unit: str | None

    @property
    def label(self) -> str:
        """The aggregation as written in k6 style: ``p(95)``, ``avg``."""
        return f"p({self.percentile:g})" if self.aggregation == "p" else self.aggregation

    def check_applies(self, kind: Kind, metric_unit: str) -> str | None:
        """Why this threshold cannot apply to a metric of ``kind`` and unit; None if it can."""
        if self.aggregation not in AGGREGATIONS[kind]:
            allowed = ", ".join(sorted(aggregation_label(a) for a in AGGREGATIONS[kind]))
            return f"{self.label} does not apply to a {kind} metric (use one of: {allowed})"
        try:
            self.limit(kind, metric_unit)
        except ValueError as exc:
            return str(exc)
        return None

    def limit(self, kind: Kind, metric_unit: str) -> float:
        """The threshold value converted to the unit of the aggregated metric."""
        unit = aggregation_unit(kind, metric_unit, self.aggregation)
        dim = dimension(unit)
        if dim == "ratio" and self.unit in (None, "%"):
            ratio = self.value / 100.0 if self.unit == "%" else self.value
            if not 0.0 <= ratio <= 1.0:
                # `rate < 5` on a failure rate would always hold: a gate that never fails.
                raise ValueError(f"{self.label} of a {kind} metric is a ratio from 0 to 1; "
                                 f"{self.value:g}{self.unit or ''} is outside it "
                                 "(write 5% or 0.05 for five percent)")
            return ratio
        if self.unit is None:
            return self.value
        base = unit.removesuffix("/s")
        if self.unit == "%":
            if dim == "percent":
                return self.value
            raise ValueError(f"'%' does not apply to {self.label} of a metric in "
                             f"{unit or 'plain numbers'}")
        if self.unit in TIME_UNITS and dim == "time":
            return self.value * TIME_UNITS[self.unit] / TIME_UNITS[base]
        if self.unit in SIZE_UNITS and dim == "size":
            return self.value * SIZE_UNITS[self.unit] / SIZE_UNITS[base]
        raise ValueError(f"unit {self.unit!r} does not apply to {self.label} of a metric in "
                         f"{unit or 'plain numbers'}")

    def holds(self, measured: float, kind: Kind, metric_unit: str) -> bool:
        return OPERATORS[self.op](measured, self.limit(kind, metric_unit))

    def __str__(self) -> str:
        return self.text


def parse_threshold(text: str) -> Threshold:
    """Parse one expression; a :class:`ThresholdSyntaxError` points at the offending character."""
    if not isinstance(text, str):
        raise ThresholdSyntaxError("a threshold is a string like 'p(95) < 200ms'", str(text), 0)
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    word = _WORD.match(text, pos)
    if not word:
        raise ThresholdSyntaxError(
            f"expected an aggregation ({', '.join(_LABELS)})", text, pos)
    name = word.group(0)
    percentile: float | None = None
    if name == "p":
        pos = word.end()
        if not text.startswith("(", pos):
            raise ThresholdSyntaxError("expected '(' after p, as in p(95)", text, pos)
        number = _NUMBER.match(text, pos + 1)
        if not number:
            raise ThresholdSyntaxError("expected a percentile between 0 and 100", text, pos + 1)
        percentile = float(number.group(0))
        if not 0 <= percentile <= 100:
            raise ThresholdSyntaxError("a percentile is between 0 and 100", text, pos + 1)
        pos = number.end()
        if not text.startswith(")", pos):
            raise ThresholdSyntaxError("expected ')' to close p(", text, pos)
        pos += 1
    elif name in AGGREGATION_NAMES:
        pos = word.end()
    else:
        raise ThresholdSyntaxError(
            f"unknown aggregation {name!r}; expected {', '.join(_LABELS[:-1])} or "
            f"{_LABELS[-1]}", text, pos)
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    op = next((o for o in OPERATORS if text.startswith(o, pos)), None)
    if op is None:
        raise ThresholdSyntaxError("expected an operator: < <= > >= == !=", text, pos)
    pos = _WS.match(text, pos + len(op)).end()  # type: ignore[union-attr]
    number = _NUMBER.match(text, pos)
    if not number:
        raise ThresholdSyntaxError("expected a number", text, pos)
    value = float(number.group(0))
    if not abs(value) <= MAX_VALUE:  # inf from 999...9: a limit no measurement crosses
        raise ThresholdSyntaxError(f"the number is out of range (at most {MAX_VALUE:g}): a "
                                   "limit that large can never be crossed", text, pos)
    pos = number.end()
    unit = None
    unit_match = _UNIT.match(text, pos)
    if unit_match:
        unit = unit_match.group(0)
        if unit not in THRESHOLD_UNITS:
            raise ThresholdSyntaxError(
                f"unknown unit {unit!r}; expected one of ms s m % B KB MB GB", text, pos)
        pos = unit_match.end()
    end = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if end != len(text):
        rest = text[end:].rstrip()
        if unit is None and end > pos and rest in THRESHOLD_UNITS:
            raise ThresholdSyntaxError(f"no space between a number and its unit: write "
                                       f"{number.group(0)}{rest}", text, end)
        raise ThresholdSyntaxError("unexpected text after the value", text, end)
    return Threshold(text.strip(), "p" if name == "p" else name, percentile, op, value, unit)


@dataclass(frozen=True)
class BaselineThreshold:
    """A relative expression: ``agg op ±N[unit]`` against the baseline's value of ``agg``."""

    threshold: Threshold

    @property
    def text(self) -> str:
        return self.threshold.text

    @property
    def label(self) -> str:
        return self.threshold.label

    def check_applies(self, kind: Kind, metric_unit: str) -> str | None:
        if self.threshold.unit == "%":  # a share of the baseline: any unit will do
            return Threshold(self.text, self.threshold.aggregation, self.threshold.percentile,
                             self.threshold.op, 0.0, None).check_applies(kind, metric_unit)
        return self._delta_threshold().check_applies(kind, metric_unit)

    def _delta_threshold(self) -> Threshold:
        t = self.threshold
        return Threshold(t.text, t.aggregation, t.percentile, t.op, abs(t.value), t.unit)

    def limit(self, baseline: float, kind: Kind, metric_unit: str) -> float:
        """The limit for this run, in the metric's unit, given the baseline's value."""
        t = self.threshold
        if t.unit == "%":
            return baseline * (1.0 + t.value / 100.0)
        delta = self._delta_threshold().limit(kind, metric_unit)
        return baseline + (delta if t.value >= 0 else -delta)

    def holds(self, measured: float, baseline: float, kind: Kind, metric_unit: str) -> bool:
        return OPERATORS[self.threshold.op](measured, self.limit(baseline, kind, metric_unit))


_SIGNED = re.compile(r"(<=|>=|==|!=|<|>)\s*(?P<sign>[-+]?)")


def parse_baseline(text: str) -> BaselineThreshold:
    """Parse a relative expression; the value must carry its sign (``+10%``, ``-5ms``)."""
    threshold = parse_threshold(text)
    m = _SIGNED.search(text)
    if m is None or not m.group("sign"):
        position = m.end() if m else 0
        raise ThresholdSyntaxError("a baseline expression is relative: give the value a sign, "
                                   "as in +10% or -5ms", text, position)
    return BaselineThreshold(threshold)
