"""Replication lag, from the primary (per replica) and from the standby itself."""

from __future__ import annotations

import time

import pytest

from perfgate_postgres import PostgresConfig
from perfgate_postgres.testing import TemporaryCluster, find_bindir


@pytest.fixture(scope="module")
def primary_and_replica():
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    primary = TemporaryCluster(settings={"autovacuum": "off"}).start()
    try:
        replica = primary.replica()
        try:
            yield primary, replica
        finally:
            replica.stop()
    finally:
        primary.stop()


def wait_streaming(primary: TemporaryCluster) -> str:
    with primary.connect() as conn:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            row = conn.execute("SELECT application_name FROM pg_stat_replication "
                               "WHERE state = 'streaming'").fetchone()
            if row:
                return row[0]
            time.sleep(0.1)
    raise AssertionError("the replica never started streaming")


def test_lag_per_replica_on_the_primary(primary_and_replica, run_collector, context):
    primary, _ = primary_and_replica
    name = wait_streaming(primary)

    def workload() -> None:
        primary.execute("CREATE TABLE IF NOT EXISTS w (x int)",
                        "INSERT INTO w SELECT generate_series(1, 20000)")

    collector, metrics = run_collector(PostgresConfig(dsn=primary.dsn(), interval="200ms"),
                                       workload, context)
    assert collector.errors == []
    lag_bytes = metrics.combined("postgres.replication_lag_bytes", {"replica": name})
    assert lag_bytes is not None and lag_bytes.count >= 2
    assert 0 <= lag_bytes.aggregate("min") < 16 * 1024 * 1024
    lag = metrics.combined("postgres.replication_lag", {"replica": name})
    assert lag is not None and 0 <= lag.aggregate("max") < 10_000


def test_lag_seen_from_the_standby(primary_and_replica, run_collector, context):
    primary, replica = primary_and_replica
    wait_streaming(primary)
    collector, metrics = run_collector(PostgresConfig(dsn=replica.dsn(), interval="200ms"),
                                       lambda: primary.execute("SELECT 1"), context)
    assert collector.errors == []
    lag = metrics.combined("postgres.replication_lag", {"replica": "self"})
    assert lag is not None and lag.count >= 2 and lag.aggregate("min") >= 0
    assert metrics.combined("postgres.replication_lag_bytes", {"replica": "self"}) is not None


def test_no_replica_no_lag_metric(run_collector, context):
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # A server with no replica and not itself a standby reports no replication lag at all.
    with TemporaryCluster() as alone:
        _, metrics = run_collector(PostgresConfig(dsn=alone.dsn(), interval="200ms"),
                                   lambda: None, context)
    assert "postgres.replication_lag" not in metrics
    assert "postgres.replication_lag_bytes" not in metrics
