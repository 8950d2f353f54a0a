"""Deltas against a baseline, as a reviewer reads them: units, points for ratios."""

from __future__ import annotations

from perfgate import dimension, format_value


def format_delta(current: float | None, base: float | None, unit: str) -> str:
    """``+12.30ms (+6.7%)``: the change from ``base`` to ``current`` in ``unit``.

    Ratios and percentages change in percentage points (``+0.09 pp``: an error rate from
    0.01% to 0.10%), never in ``%``, which would read as a relative change; they get no
    relative change beside them.
    """
    if current is None or base is None:
        return "n/a"
    change = current - base
    if change == 0:
        return "±0"
    sign = "+" if change > 0 else "-"
    kind = dimension(unit)
    if kind == "ratio":
        return f"{sign}{abs(change) * 100:.2f} pp"
    if kind == "percent":
        return f"{sign}{abs(change):.1f} pp"
    text = sign + format_value(abs(change), unit)
    if base:
        text += f" ({change / abs(base) * 100:+.1f}%)"
    return text
