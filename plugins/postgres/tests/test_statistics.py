"""Ground truth on a private cluster with pg_stat_statements: the workload is ours alone."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from perfgate_postgres import PostgresConfig
from perfgate_postgres.testing import close_and_flush, commit_and_roll_back


@pytest.fixture
def monitor(stats_cluster):
    with stats_cluster.connect() as conn:
        yield conn


def config(cluster, **options) -> PostgresConfig:
    # The collector connects to "postgres" and measures "app": its own queries stay out.
    return PostgresConfig(dsn=cluster.dsn("postgres"), databases=["app"],
                          **{"interval": "250ms", **options})


def test_slow_statements_are_the_top_statements(stats_cluster, monitor, run_collector):
    def workload() -> None:
        conn = stats_cluster.connect("app")
        for _ in range(3):
            conn.execute("SELECT pg_sleep(0.2)")
        for _ in range(4):
            conn.execute("SELECT 1 FROM pg_sleep(0.05)")
        for i in range(50):
            conn.execute("SELECT %s::int + 1", (i,))
        close_and_flush(conn, monitor)

    collector, metrics = run_collector(config(stats_cluster, top_statements=2), workload)
    assert collector.errors == []
    top = collector.details()["top_statements"]
    assert [s["query"] for s in top] == ["SELECT pg_sleep($1)", "SELECT $1 FROM pg_sleep($2)"]
    slow, medium = top
    assert slow["calls"] == 3 and medium["calls"] == 4
    assert 600 <= slow["total_ms"] < 900
    assert 200 <= slow["mean_ms"] < 300 and 200 <= slow["max_ms"] < 400
    assert 200 <= medium["total_ms"] < 400
    assert 50 <= medium["mean_ms"] < 100

    durations = metrics.combined("postgres.query_duration")
    assert durations.count == 3 + 4 + 50  # exactly the calls the workload made in "app"
    assert metrics.combined("postgres.calls").aggregate("count") == 57
    assert 200 <= durations.aggregate("max") < 400
    assert durations.aggregate("med") < 5
    assert 50 <= durations.aggregate("p", 95) < 400
    total = slow["total_ms"] + medium["total_ms"]
    assert durations.aggregate("avg") == pytest.approx(total / 57, rel=0.05)


def test_transactions_and_rollbacks_are_exact(stats_cluster, monitor, run_collector):
    def workload() -> None:
        # Connecting runs one transaction; psycopg's automatic prepared statements would add
        # one more each (a Parse of its own), so they are off for exact counts.
        conn = stats_cluster.connect("app", prepare_threshold=None)
        commit_and_roll_back(conn, commits=20, rollbacks=5)
        close_and_flush(conn, monitor)

    collector, metrics = run_collector(config(stats_cluster), workload)
    assert collector.errors == []
    assert metrics.combined("postgres.transactions").aggregate("count") == 1 + 20 + 5
    assert metrics.combined("postgres.rollbacks").aggregate("count") == 5
    transactions = metrics.combined("postgres.transactions")
    window = transactions.duration
    assert window and transactions.aggregate("rate") == pytest.approx(26 / window)


def test_temp_files_deadlocks_and_waiting_locks(stats_cluster, monitor, run_collector):
    stats_cluster.execute("DROP TABLE IF EXISTS accounts",
                          "CREATE TABLE accounts (id int PRIMARY KEY, balance int)",
                          "INSERT INTO accounts VALUES (1, 0), (2, 0)", dbname="app")

    def workload() -> None:
        a, b = stats_cluster.connect("app"), stats_cluster.connect("app")
        # A sort too big for 64kB of work_mem spills to a temporary file.
        a.execute("SET work_mem = '64kB'")
        a.execute("SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g "
                  "ORDER BY g DESC) s")
        # A lock held for a second: b waits while the collector samples.
        a.execute("BEGIN")
        a.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        waiter = threading.Thread(target=lambda: b.execute("SELECT count(*) FROM accounts"))
        waiter.start()
        time.sleep(1.0)
        a.execute("COMMIT")
        waiter.join(10)
        # A deadlock: a and b each hold a row the other one wants.
        a.execute("BEGIN")
        b.execute("BEGIN")
        a.execute("UPDATE accounts SET balance = 1 WHERE id = 1")
        b.execute("UPDATE accounts SET balance = 2 WHERE id = 2")
        errors: list[Exception] = []

        def cross(conn: psycopg.Connection, row: int) -> None:
            try:
                conn.execute("UPDATE accounts SET balance = 3 WHERE id = %s", (row,))
                conn.execute("COMMIT")
            except psycopg.errors.DeadlockDetected as exc:
                errors.append(exc)
                conn.execute("ROLLBACK")

        t = threading.Thread(target=cross, args=(a, 2))
        t.start()
        time.sleep(0.2)
        cross(b, 1)
        t.join(10)
        assert len(errors) == 1
        close_and_flush(a, monitor)
        close_and_flush(b, monitor)

    collector, metrics = run_collector(config(stats_cluster, interval="200ms"), workload)
    assert collector.errors == []
    assert metrics.combined("postgres.temp_files").aggregate("count") >= 1
    assert metrics.combined("postgres.temp_bytes").aggregate("count") > 1_000_000
    assert metrics.combined("postgres.temp_bytes").unit == "B"
    assert metrics.combined("postgres.deadlocks").aggregate("count") == 1
    assert metrics.combined("postgres.rollbacks").aggregate("count") >= 1
    assert metrics.combined("postgres.locks_waiting", {"database": "app"}).aggregate("max") >= 1
    assert metrics.combined("postgres.locks_waiting").aggregate("value") == 0


def test_cache_hit_ratio_from_block_deltas(stats_cluster, monitor, run_collector):
    # 1000 pages (8MB) read once from disk into a cold shared_buffers, then nine times from it.
    stats_cluster.execute(
        "DROP TABLE IF EXISTS pages",
        "CREATE TABLE pages (id int, pad text) WITH (fillfactor = 100)",
        "INSERT INTO pages SELECT g, repeat('x', 700) FROM generate_series(1, 10000) g",
        dbname="app")
    with stats_cluster.connect("app") as conn:
        pages = conn.execute("SELECT relpages FROM pg_class WHERE relname = 'pages'")
        conn.execute("VACUUM ANALYZE pages")
        pages = conn.execute("SELECT relpages FROM pg_class WHERE relname = 'pages'"
                             ).fetchone()[0]
    assert 900 < pages < 1200
    monitor.close()
    stats_cluster.stop_server()  # restart: shared_buffers start empty
    stats_cluster.start_server()
    with stats_cluster.connect() as monitor2:
        def workload() -> None:
            conn = stats_cluster.connect("app")
            for _ in range(10):
                conn.execute("SELECT count(*) FROM pages").fetchone()
            close_and_flush(conn, monitor2)

        collector, metrics = run_collector(config(stats_cluster), workload)
    assert collector.errors == []
    ratio = metrics.combined("postgres.cache_hit_ratio")
    # Delta over the window: the table's blocks plus a little catalog access, not the totals.
    assert 10 * pages <= ratio.count < 10 * pages + 2000
    assert ratio.aggregate("fails") >= pages
    assert ratio.aggregate("passes") >= 9 * pages
    assert 0.8 < ratio.aggregate("rate") < 0.92


def test_passwords_in_statement_text_are_masked(stats_cluster, monitor, run_collector, context):
    secret = "Sup3r-Secret-Rotation"

    def workload() -> None:
        conn = stats_cluster.connect("app")
        conn.execute("DROP ROLE IF EXISTS carol")
        conn.execute(f"CREATE ROLE carol LOGIN PASSWORD '{secret}'")
        conn.execute(f"ALTER ROLE carol PASSWORD '{secret}2'")
        close_and_flush(conn, monitor)

    collector, metrics = run_collector(config(stats_cluster, top_statements=50), workload,
                                       context)
    # What the run puts in the result document: every text masked by the run's redactor.
    details = context.redactor.document(collector.details())
    queries = [s["query"] for s in details["top_statements"]]
    assert any("CREATE ROLE carol LOGIN PASSWORD '***'" in q for q in queries)
    everything = json.dumps([details, collector.errors, context.notes(), metrics.to_list()])
    assert secret not in everything


def test_a_role_without_pg_read_all_stats_gets_a_note(stats_cluster, monitor, run_collector,
                                                      context):
    from .conftest import BOB_PASSWORD

    dsn = stats_cluster.dsn("postgres", user="bob", password=BOB_PASSWORD)

    def workload() -> None:
        conn = psycopg.connect(dsn, autocommit=True)
        for _ in range(3):
            conn.execute("SELECT 1 FROM pg_sleep(0.01)")
        close_and_flush(conn, monitor)

    collector, metrics = run_collector(PostgresConfig(dsn=dsn, interval="200ms"), workload,
                                       context)
    assert collector.errors == []
    assert any("GRANT pg_read_all_stats TO bob" in note for note in context.notes())
    # Its own statements: the workload's are measured, the collector's (not allowed to turn
    # tracking off, as it is no superuser) are left out by their comment.
    queries = [s["query"] for s in collector.details()["top_statements"]]
    assert queries == ["SELECT $1 FROM pg_sleep($2)"]
    assert metrics.combined("postgres.query_duration").count == 3
    assert BOB_PASSWORD not in str(collector.details())
