"""Against the shared PostgreSQL at 127.0.0.1:5432 (trust auth, database test).

Other tests may use the same server at the same time, so counts are checked as lower bounds
here; exact counts are checked on a private cluster (test_statistics.py).
"""

from __future__ import annotations

import json

import psycopg

from perfgate_postgres import PostgresConfig
from perfgate_postgres.testing import close_and_flush, commit_and_roll_back


def test_deltas_over_the_window_on_the_shared_server(shared_dsn, run_collector, context):
    monitor = psycopg.connect(shared_dsn, autocommit=True)
    totals_before = monitor.execute(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'test'"
    ).fetchone()[0]

    def workload() -> None:
        conn = psycopg.connect(shared_dsn, autocommit=True)
        commit_and_roll_back(conn, commits=40, rollbacks=6)
        close_and_flush(conn, monitor)

    cfg = PostgresConfig(dsn=shared_dsn, interval="200ms", probes=2)
    collector, metrics = run_collector(cfg, workload, context)
    monitor.close()
    assert collector.errors == []

    transactions = metrics.combined("postgres.transactions")
    rollbacks = metrics.combined("postgres.rollbacks")
    assert transactions.aggregate("count") >= 46
    assert rollbacks.aggregate("count") >= 6
    # Deltas over the run, not the totals since the server started.
    assert transactions.aggregate("count") < totals_before or totals_before < 46
    assert transactions.aggregate("rate") > 0

    used = metrics.combined("postgres.connections_used")
    assert 0 < used.aggregate("max") <= 100
    assert metrics.combined("postgres.max_connections").aggregate("value") > 0
    probe = metrics.combined("postgres.probe_duration")
    assert probe.count == 2 * collector.samples_ok
    assert 0 < probe.aggregate("p", 95) < 1000
    assert metrics.combined("postgres.locks_waiting", {"database": "test"}) is not None
    json.dumps(metrics.to_list())  # serialisable


def test_without_pg_stat_statements_metrics_are_missing_with_a_note(shared_dsn, run_collector,
                                                                      context):
    with psycopg.connect(shared_dsn) as conn:
        loaded = "pg_stat_statements" in conn.execute(
            "SELECT current_setting('shared_preload_libraries')").fetchone()[0]
    cfg = PostgresConfig(dsn=shared_dsn, interval="200ms")
    collector, metrics = run_collector(cfg, lambda: None, context)
    if loaded:  # someone enabled it on the shared server: then it must be measured
        assert collector.details()["pg_stat_statements"] is True
        return
    assert collector.errors == []
    assert "postgres.query_duration" not in metrics
    assert "postgres.calls" not in metrics
    assert collector.details()["top_statements"] == []
    notes = context.notes()
    assert len(notes) == 1
    assert "postgres.query_duration" in notes[0]
    assert "shared_preload_libraries = 'pg_stat_statements'" in notes[0]
    assert "CREATE EXTENSION pg_stat_statements" in notes[0]
