"""Statement activity over the run window, from successive ``pg_stat_statements`` snapshots.

``pg_stat_statements`` keeps totals per statement since the entry was created (or reset). The
difference between two snapshots is what happened in between: calls, total execution time,
rows, blocks. A statement's ``max_exec_time`` only ever grows, so when it grew between two
snapshots the new maximum is a call that happened in that interval: an exact sample.

:func:`record_interval` turns one interval's delta for one statement into call durations for
a histogram: every call gets the statement's mean over the interval, except that a call known
to be the new maximum is recorded as it was (the others then share what is left of the total,
so the sum stays exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfgate import Trend

StatementKey = tuple[Any, ...]


@dataclass(frozen=True)
class StatementRow:
    """One row of ``pg_stat_statements`` as sampled (times in ms)."""

    key: StatementKey
    database: str
    query: str
    calls: int
    total_ms: float
    max_ms: float
    rows: int
    shared_blks_hit: int
    shared_blks_read: int


@dataclass(frozen=True)
class Interval:
    """What one statement did between two snapshots."""

    database: str
    calls: int
    total_ms: float
    #: The slowest call of the interval when it is known exactly, else ``None``.
    known_max_ms: float | None


@dataclass
class StatementWindow:
    """One statement's totals over the run window."""

    database: str
    query: str
    calls: int = 0
    total_ms: float = 0.0
    rows: int = 0
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    #: Largest exact call time seen, and largest per-interval mean (a lower bound of the max).
    known_max_ms: float | None = None
    largest_mean_ms: float = 0.0

    @property
    def max_ms(self) -> float:
        return max(self.known_max_ms or 0.0, self.largest_mean_ms)

    @property
    def max_is_exact(self) -> bool:
        return self.known_max_ms is not None and self.known_max_ms >= self.largest_mean_ms

    def to_dict(self, queryid: Any) -> dict[str, Any]:
        return {
            "queryid": None if queryid is None else str(queryid),
            "database": self.database,
            "query": self.query,
            "calls": self.calls,
            "total_ms": round(self.total_ms, 3),
            "mean_ms": round(self.total_ms / self.calls, 3) if self.calls else None,
            "max_ms": round(self.max_ms, 3),
            "max_is_exact": self.max_is_exact,
            "rows": self.rows,
            "shared_blks_hit": self.shared_blks_hit,
            "shared_blks_read": self.shared_blks_read,
        }


@dataclass
class StatementTracker:
    """Keeps the previous snapshot and adds each interval's deltas to the window totals."""

    previous: dict[StatementKey, StatementRow] | None = None
    window: dict[StatementKey, StatementWindow] = field(default_factory=dict)

    def update(self, rows: list[StatementRow]) -> list[Interval]:
        """Take a new snapshot; return what each statement did since the previous one."""
        current = {row.key: row for row in rows}
        previous, self.previous = self.previous, current
        if previous is None:
            return []
        intervals = []
        for key, row in current.items():
            before = previous.get(key)
            if before is None or row.calls < before.calls:
                # New since the last snapshot (or reset, or evicted and back): every call
                # counted now happened in this interval, and so did its maximum.
                calls, total = row.calls, row.total_ms
                rows_, hit, read = row.rows, row.shared_blks_hit, row.shared_blks_read
                known_max: float | None = row.max_ms
            else:
                calls, total = row.calls - before.calls, row.total_ms - before.total_ms
                rows_ = row.rows - before.rows
                hit = row.shared_blks_hit - before.shared_blks_hit
                read = row.shared_blks_read - before.shared_blks_read
                known_max = row.max_ms if row.max_ms > before.max_ms else None
            if calls <= 0:
                continue
            total = max(total, 0.0)
            if calls == 1:
                known_max = total
            intervals.append(Interval(row.database, calls, total, known_max))
            win = self.window.get(key)
            if win is None:
                win = self.window[key] = StatementWindow(row.database, row.query)
            win.calls += calls
            win.total_ms += total
            win.rows += rows_
            win.shared_blks_hit += hit
            win.shared_blks_read += read
            win.largest_mean_ms = max(win.largest_mean_ms, total / calls)
            if known_max is not None:
                win.known_max_ms = max(win.known_max_ms or 0.0, known_max)
        return intervals

    def top(self, n: int) -> list[tuple[StatementKey, StatementWindow]]:
        """The ``n`` statements with the most total time in the window."""
        ranked = sorted(self.window.items(), key=lambda kv: kv[1].total_ms, reverse=True)
        return ranked[:n]


def record_interval(trend: Trend, interval: Interval, t: float) -> None:
    """Add one interval's calls to ``trend`` (see the module docstring)."""
    calls, total, known_max = interval.calls, interval.total_ms, interval.known_max_ms
    if calls == 1:
        trend.add(total, t)
    elif known_max is not None and known_max <= total:
        trend.add(known_max, t)
        trend.add_many(max((total - known_max) / (calls - 1), 0.0), calls - 1, t)
    else:
        trend.add_many(total / calls, calls, t)
