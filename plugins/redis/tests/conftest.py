"""Fixtures: the shared Redis at 127.0.0.1:6379 and private redis-server instances."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from perfgate import MetricSet, RunContext
from perfgate.testing import collect, run_context
from perfgate_redis import RedisCollector
from perfgate_redis.testing import TemporaryRedis, find_server

#: A database of its own on the shared server (keys carry a per-test prefix too).
SHARED_URL = os.environ.get("PERFGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def quiet_client(url: str) -> redis.Redis:
    """A workload client, already connected, that from now on sends only its own commands.

    Connecting sends HELLO (and CLIENT SETINFO unless turned off): done here, before a test
    starts its collector, so the counts in the window are the workload's alone.
    """
    client = redis.Redis.from_url(url, driver_info=None, socket_timeout=5)
    client.ping()
    return client


@pytest.fixture
def context() -> RunContext:
    return run_context()


@pytest.fixture(scope="session")
def shared_url() -> str:
    try:
        redis.Redis.from_url(SHARED_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"the shared Redis is not reachable ({SHARED_URL}): {exc}")
    return SHARED_URL


def _need_server() -> None:
    if find_server() is None:
        pytest.skip("redis-server is not installed")


@pytest.fixture
def private_redis() -> Iterator[TemporaryRedis]:
    """A redis-server of this test's own: every command it sees is the test's."""
    _need_server()
    server = TemporaryRedis().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_redis() -> Iterator[Callable[..., TemporaryRedis]]:
    _need_server()
    servers: list[TemporaryRedis] = []

    def make(**options: Any) -> TemporaryRedis:
        server = TemporaryRedis(**options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def run_collector() -> Callable[..., tuple[RedisCollector, MetricSet]]:
    """``run_collector(config, workload, context=None)``: :func:`perfgate.testing.collect`."""
    return functools.partial(collect, RedisCollector)
