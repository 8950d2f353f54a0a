"""``perfgate compare BEFORE.json AFTER.json``: what changed between two runs' checks.

Each check of either run is one row, matched across the runs as a baseline is (by group,
name, metric and aggregation): what each run measured, the change in the check's unit
(``+12.40ms``; percentage points for a rate or a percentage), the relative change, and both
verdicts. A check that only one run has says so (``new``, ``gone``).
"""

from __future__ import annotations

from dataclasses import dataclass

from perfgate.result import Baseline, Check
from perfgate.units import format_value


@dataclass
class Row:
    """One check in the comparison; ``before`` or ``after`` is None when a run lacks it."""

    before: Check | None
    after: Check | None

    @property
    def check(self) -> Check:
        found = self.after or self.before
        assert found is not None
        return found

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        if self.before.measured is None or self.after.measured is None:
            return None
        return self.after.measured - self.before.measured

    @property
    def relative(self) -> float | None:
        """The change as a share of what was measured before; None from 0."""
        change = self.change
        if change is None or not self.before or not self.before.measured:
            return None
        return change / abs(self.before.measured)


def compare_results(before: Baseline, after: Baseline) -> list[Row]:
    """Every check of ``after`` in its order, with its match in ``before``; then the checks
    only ``before`` has."""
    rows, matched = [], set()
    for check in after.result.checks:
        old = before.check(check)
        if old is not None:
            matched.add(id(old))
        rows.append(Row(old, check))
    rows += [Row(c, None) for c in before.result.checks if id(c) not in matched]
    return rows


def _signed(value: float, unit: str) -> str:
    text = format_value(abs(value), unit)
    return ("+" if value > 0 else "-" if value < 0 else "±") + text


def comparison_table(rows: list[Row]) -> list[list[str]]:
    """The rows as text: check, metric, before, after, change, relative, verdicts."""
    out = []
    for row in rows:
        check = row.check
        unit = check.unit
        agg = f"{check.aggregation} " if check.aggregation else ""
        # A scenario's own target says which scenario; a built-in check's name already does.
        own = check.group == "targets" or check.name.startswith(f"{check.group}.")
        name = check.name if own else f"{check.group}: {check.name}"
        change, relative = row.change, row.relative
        if row.before is None:
            changed = "new"
        elif row.after is None:
            changed = "gone"
        elif change is None:
            changed = "n/a"
        elif unit == "ratio":  # a share: the change is in percentage points
            changed = f"{change * 100:+.2f} pp"
        elif unit == "%":
            changed = f"{change:+.1f} pp"
        else:
            changed = _signed(change, unit)
        out.append([
            name, f"{agg}{check.metric}",
            format_value(row.before.measured, unit) if row.before else "-",
            format_value(row.after.measured, unit) if row.after else "-",
            changed,
            f"{relative:+.1%}" if relative is not None else "",
            " → ".join(c.verdict.value for c in (row.before, row.after) if c is not None),
        ])
    return out


COMPARE_HEADERS = ["check", "metric", "before", "after", "change", "relative", "verdict"]
