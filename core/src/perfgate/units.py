"""Durations, sizes and the units thresholds may use."""

from __future__ import annotations

import math
import re

_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|h|m|s|d)")
_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
                   "d": 86400.0}

#: Units a threshold value may carry, by dimension, as factors to the dimension's base unit.
TIME_UNITS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0}  # base: ms
SIZE_UNITS = {"B": 1.0, "KB": 1024.0, "MB": 1024.0**2, "GB": 1024.0**3}  # base: B (binary)
THRESHOLD_UNITS = {**TIME_UNITS, **SIZE_UNITS, "%": 1.0}


#: The longest duration perfgate takes: a year. Longer is a typo (or an attempt to make a
#: timeout that never fires), and beyond about 292 years a clock cannot even hold it.
MAX_DURATION = 365 * 24 * 3600.0


def parse_duration(value: object) -> float:
    """``"1m30s"`` → 90.0 seconds. A bare number is seconds. Raises ``ValueError``, also
    beyond :data:`MAX_DURATION`."""
    seconds = _parse_duration(value)
    if seconds > MAX_DURATION:
        shown = repr(value) if len(repr(value)) <= 30 else repr(value)[:27] + "..."
        raise ValueError(f"{shown} is longer than a year (8760h), the longest duration "
                         "perfgate takes")
    return seconds


def _parse_duration(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 500ms, 1m30s")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"expected a duration like 30s, 500ms, 1m30s, got {value!r}")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 30s, 500ms, 1m30s")
    text = value.strip()
    pos, total = 0, 0.0
    if not text:
        raise ValueError("expected a duration like 30s, 500ms, 1m30s, got an empty string")
    if text.startswith("-"):
        raise ValueError("a duration cannot be negative")
    if _SECONDS.fullmatch(text):  # "10" from ${env:...} is 10 seconds, like a bare 10
        return float(text)
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            raise ValueError(f"{value!r} is not a duration; expected e.g. 30s, 500ms, 1m30s, 2h")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return total


def bare_number(value: object) -> float | None:
    """The number a duration was written as without a unit (``30``, ``"30"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _SECONDS.fullmatch(value.strip()):
        return float(value.strip())
    return None


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:g}s" if rest else f"{int(minutes)}m"


def dimension(unit: str) -> str | None:
    """``time``, ``size``, ``percent`` or ``ratio`` for a metric unit; None for plain numbers."""
    base = unit.removesuffix("/s")
    if base in TIME_UNITS:
        return "time"
    if base in SIZE_UNITS:
        return "size"
    if base == "%":
        return "percent"
    if base == "ratio":
        return "ratio"
    return None


def format_value(value: float | None, unit: str) -> str:
    """A value in its unit as people read it: ``182.4ms``, ``3.1%``, ``512.0MB``, ``540.2/s``."""
    if value is None:
        return "n/a"
    per_second = unit.endswith("/s")
    base = unit.removesuffix("/s")
    suffix = "/s" if per_second else ""
    if base == "ratio":
        return f"{value * 100:.2f}%{suffix}"
    if base == "%":
        return f"{value:.1f}%{suffix}"
    if base == "ms":
        if abs(value) >= 10_000:
            return f"{value / 1000:.2f}s{suffix}"
        return f"{value:.2f}ms{suffix}"
    if base == "s":
        return f"{value:.3f}s{suffix}"
    if base == "B":
        for name in ("GB", "MB", "KB"):
            if abs(value) >= SIZE_UNITS[name]:
                return f"{value / SIZE_UNITS[name]:.1f}{name}{suffix}"
        return f"{value:.0f}B{suffix}"
    number = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
    return f"{number}{base and ' ' + base}{suffix}"


def plural(count: int, word: str) -> str:
    """``1 check``, ``2 checks``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


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
