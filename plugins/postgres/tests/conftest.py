"""Fixtures: the shared PostgreSQL at 127.0.0.1:5432 and throwaway clusters of our own."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator

import psycopg
import pytest

from perfgate import MetricSet, RunContext
from perfgate.testing import collect, run_context
from perfgate_postgres import PostgresCollector
from perfgate_postgres.testing import TemporaryCluster, find_bindir

SHARED_DSN = os.environ.get("PERFGATE_TEST_PG_DSN",
                            "host=127.0.0.1 port=5432 dbname=test user=postgres")
BOB_PASSWORD = "correct-horse-battery-staple"
MALLORY_PASSWORD = "md5-secret-Pa55word"


@pytest.fixture
def context() -> RunContext:
    return run_context()


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


@pytest.fixture
def run_collector() -> Callable[..., tuple[PostgresCollector, MetricSet]]:
    """``run_collector(config, workload, context=None)``: :func:`perfgate.testing.collect`."""
    return functools.partial(collect, PostgresCollector)
