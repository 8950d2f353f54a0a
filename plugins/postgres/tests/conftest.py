"""Fixtures: the shared PostgreSQL at 127.0.0.1:5432 and throwaway clusters of our own."""

from __future__ import annotations

import os
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from perfgate import MetricSet, RunContext, RunOptions
from perfgate_postgres import PostgresCollector, PostgresConfig
from perfgate_postgres.testing import TemporaryCluster, find_bindir

SHARED_DSN = os.environ.get("PERFGATE_TEST_PG_DSN",
                            "host=127.0.0.1 port=5432 dbname=test user=postgres")
BOB_PASSWORD = "correct-horse-battery-staple"
MALLORY_PASSWORD = "md5-secret-Pa55word"


def make_context() -> RunContext:
    targets = types.SimpleNamespace(model=types.SimpleNamespace(allow_hosts=[]), services={})
    return RunContext(targets, RunOptions())  # type: ignore[arg-type]


@pytest.fixture
def context() -> RunContext:
    return make_context()


@pytest.fixture(scope="session")
def shared_dsn() -> str:
    try:
        psycopg.connect(SHARED_DSN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"the shared PostgreSQL is not reachable ({SHARED_DSN}): {exc}")
    return SHARED_DSN


def _need_server_binaries() -> None:
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


@pytest.fixture(scope="session")
def stats_cluster() -> Iterator[TemporaryCluster]:
    """A private cluster with pg_stat_statements, password roles and no autovacuum noise."""
    _need_server_binaries()
    cluster = TemporaryCluster(
        settings={
            "shared_preload_libraries": "'pg_stat_statements'",
            "deadlock_timeout": "'100ms'",
            # Autovacuum workers run transactions of their own in every database; off, the
            # transaction counts of a test workload are exact.
            "autovacuum": "off",
        },
        hba=["host all bob 127.0.0.1/32 scram-sha-256",
             "host all mallory 127.0.0.1/32 md5"])
    cluster.start()
    try:
        cluster.execute(
            "CREATE EXTENSION pg_stat_statements",
            "CREATE DATABASE app",
            f"CREATE ROLE bob LOGIN PASSWORD '{BOB_PASSWORD}'",
        )
        with cluster.connect() as conn:
            conn.execute("SET password_encryption = 'md5'")
            conn.execute(f"CREATE ROLE mallory LOGIN PASSWORD '{MALLORY_PASSWORD}'")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def plain_cluster() -> Iterator[TemporaryCluster]:
    """A private cluster without pg_stat_statements, for one test (it may be stopped)."""
    _need_server_binaries()
    cluster = TemporaryCluster(settings={"autovacuum": "off"})
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def collect(config: PostgresConfig, workload: Callable[[], Any],
            context: RunContext | None = None) -> tuple[PostgresCollector, MetricSet]:
    """Start a collector, run ``workload``, stop it; return the collector and its metrics."""
    collector = PostgresCollector(config, context or make_context())
    collector.start()
    try:
        workload()
        time.sleep(config.interval * 1.5)  # at least one sample after the workload
    finally:
        metrics = collector.stop()
    return collector, metrics


@pytest.fixture
def run_collector() -> Callable[..., tuple[PostgresCollector, MetricSet]]:
    return collect
