"""Statement deltas from pg_stat_statements snapshots, on synthetic rows with known answers."""

from __future__ import annotations

import pytest

from perfgate import Trend
from perfgate_postgres.statements import (
    Interval,
    StatementRow,
    StatementTracker,
    record_interval,
)


def row(key: int, calls: int, total: float, max_ms: float,
        query: str = "SELECT $1") -> StatementRow:
    return StatementRow(key=(10, 1, key, True), database="app", query=query, calls=calls,
                        total_ms=total, max_ms=max_ms, rows=calls, shared_blks_hit=2 * calls,
                        shared_blks_read=calls)


def test_first_snapshot_is_only_a_baseline() -> None:
    tracker = StatementTracker()
    assert tracker.update([row(1, 1000, 5000.0, 90.0)]) == []
    assert tracker.window == {}


def test_deltas_not_totals_and_new_max_is_exact() -> None:
    tracker = StatementTracker()
    tracker.update([row(1, 1000, 5000.0, 90.0), row(2, 5, 5.0, 1.0)])
    intervals = tracker.update([row(1, 1010, 5300.0, 120.0), row(2, 5, 5.0, 1.0)])
    assert intervals == [Interval("app", 10, pytest.approx(300.0), 120.0)]
    win = tracker.window[(10, 1, 1, True)]
    assert (win.calls, win.rows, win.shared_blks_hit, win.shared_blks_read) == (10, 10, 20, 10)
    assert win.max_ms == 120.0 and win.max_is_exact


def test_max_unchanged_means_only_a_lower_bound() -> None:
    tracker = StatementTracker()
    tracker.update([row(1, 10, 100.0, 500.0)])
    tracker.update([row(1, 14, 140.0, 500.0)])
    win = tracker.window[(10, 1, 1, True)]
    assert win.max_ms == pytest.approx(10.0)
    assert not win.max_is_exact


def test_new_and_reset_statements_count_everything_since() -> None:
    tracker = StatementTracker()
    tracker.update([row(1, 50, 500.0, 20.0)])
    intervals = tracker.update([row(1, 3, 30.0, 12.0), row(2, 2, 8.0, 5.0)])
    assert sorted((i.calls, i.total_ms, i.known_max_ms) for i in intervals) == [
        (2, 8.0, 5.0), (3, 30.0, 12.0)]


def test_top_by_total_time() -> None:
    tracker = StatementTracker()
    tracker.update([])
    tracker.update([row(1, 100, 50.0, 1.0, "fast"), row(2, 2, 400.0, 300.0, "slow"),
                    row(3, 10, 100.0, 20.0, "middle")])
    assert [w.query for _, w in tracker.top(2)] == ["slow", "middle"]


def test_record_interval_keeps_the_sum_and_the_exact_max() -> None:
    trend = Trend("postgres.query_duration")
    record_interval(trend, Interval("app", 4, 100.0, 70.0), 0.0)
    assert trend.count == 4
    assert trend.aggregate("avg") == pytest.approx(25.0)
    assert trend.aggregate("max") == pytest.approx(70.0)
    assert trend.aggregate("min") == pytest.approx(10.0)


def test_record_interval_without_known_max_uses_the_mean() -> None:
    trend = Trend("postgres.query_duration")
    record_interval(trend, Interval("app", 5, 50.0, None), 0.0)
    assert (trend.count, trend.aggregate("min"), trend.aggregate("max")) == (5, 10.0, 10.0)
