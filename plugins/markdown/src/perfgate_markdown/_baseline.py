"""Comparison with a baseline: an earlier result document, and deltas against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from perfgate.result import Check, ResultDocument
from perfgate.units import dimension, format_value


@dataclass
class Baseline:
    """An earlier result document and where it came from."""

    path: Path
    result: ResultDocument

    def check(self, current: Check) -> Check | None:
        """The baseline's check with the same name and metric, if it has one."""
        for check in self.result.checks:
            if check.name == current.name and check.metric == current.metric:
                return check
        return None


def load_baseline(path: Path) -> Baseline:
    """Read a result document; raise ``ValueError`` with a readable reason if it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read baseline {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"baseline {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("perfgate-result/"):
        raise ValueError(f"baseline {path} is not a perfgate result document")
    try:
        return Baseline(path, ResultDocument.from_dict(doc))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"baseline {path} is not a valid result document: {exc}") from exc


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
