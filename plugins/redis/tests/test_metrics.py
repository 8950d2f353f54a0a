"""Ground truth on a private redis-server: every command it sees is the test's own."""

from __future__ import annotations

import threading
import time

import pytest

from perfgate_redis import RedisConfig

from .conftest import quiet_client


def test_exact_hit_rate_commands_and_command_stats(private_redis, run_collector):
    client = quiet_client(private_redis.url())

    def workload() -> None:
        for i in range(10):
            client.set(f"k{i}", "v")
        for i in range(30):
            assert client.get(f"k{i % 10}") == b"v"  # hit
        for i in range(10):
            assert client.get(f"missing{i}") is None  # miss

    cfg = RedisConfig(url=private_redis.url(), interval="200ms", probes=3)
    collector, metrics = run_collector(cfg, workload)
    assert collector.errors == []
    hit_rate = metrics.combined("redis.hit_rate")
    assert (hit_rate.passes, hit_rate.total) == (30, 40)
    assert hit_rate.aggregate("rate") == 0.75
    # Exactly the workload's 50 commands: the collector's PINGs and INFOs are left out.
    commands = metrics.combined("redis.commands")
    assert commands.aggregate("count") == 50
    assert commands.aggregate("rate") == pytest.approx(50 / commands.duration)
    gets = metrics.combined("redis.command_duration", {"command": "get"})
    sets = metrics.combined("redis.command_duration", {"command": "set"})
    assert (gets.count, sets.count) == (40, 10)
    assert 0 < gets.aggregate("avg") < 5
    assert metrics.combined("redis.command_duration", {"command": "ping"}) is None
    assert metrics.combined("redis.command_duration", {"command": "info"}) is None
    assert metrics.combined("redis.keys", {"db": "0"}).aggregate("value") == 10
    probes = metrics.combined("redis.probe_duration")
    assert probes.count == 3 * collector.samples_ok
    assert 0 < probes.aggregate("p", 95) < 100
    assert metrics.combined("redis.memory_used").aggregate("value") > 100_000
    assert "redis.maxmemory" not in metrics  # no limit set
    details = collector.details()
    assert {c["command"]: c["calls"] for c in details["commands"]} == {"get": 40, "set": 10}
    assert details["maxmemory_policy"] == "noeviction"


def test_a_second_window_counts_only_itself(private_redis, run_collector):
    client = quiet_client(private_redis.url())
    client.set("warm", "x")
    for _ in range(100):
        client.get("warm")  # before the run: not counted
    cfg = RedisConfig(url=private_redis.url(), interval="100ms", probes=0)
    _, metrics = run_collector(cfg, lambda: [client.get("warm") for _ in range(4)]
                               + [client.get("cold")])
    hit_rate = metrics.combined("redis.hit_rate")
    assert (hit_rate.passes, hit_rate.total) == (4, 5)


def test_memory_limit_evictions_and_expired_keys(make_redis, run_collector):
    server = make_redis(maxmemory="4mb", maxmemory_policy="allkeys-lru")
    client = quiet_client(server.url())

    def workload() -> None:
        for i in range(20):
            client.set(f"ttl{i}", "x", px=50)
        time.sleep(0.3)
        for i in range(20):
            assert client.get(f"ttl{i}") is None  # each expired once, lazily or actively
        pipe = client.pipeline(transaction=False)
        for i in range(6000):
            pipe.set(f"big{i}", "x" * 1024)
        pipe.execute()

    cfg = RedisConfig(url=server.url(), interval="100ms", probes=1)
    collector, metrics = run_collector(cfg, workload)
    assert collector.errors == []
    assert metrics.combined("redis.expired_keys").aggregate("count") == 20
    evicted = metrics.combined("redis.evicted_keys").aggregate("count")
    assert evicted > 1000  # 6MB of values into 4MB
    assert metrics.combined("redis.maxmemory").aggregate("value") == 4 * 1024 * 1024
    used = metrics.combined("redis.maxmemory_used")
    assert 50 < used.aggregate("max") <= 110
    assert collector.details()["maxmemory_policy"] == "allkeys-lru"


def test_clients_connected_and_blocked(private_redis, run_collector):
    blocker = quiet_client(private_redis.url())

    def workload() -> None:
        waiter = threading.Thread(target=lambda: blocker.blpop(["nothing"], timeout=1))
        waiter.start()
        waiter.join(5)

    cfg = RedisConfig(url=private_redis.url(), interval="100ms", probes=0)
    _, metrics = run_collector(cfg, workload)
    assert metrics.combined("redis.blocked_clients").aggregate("max") == 1
    assert metrics.combined("redis.blocked_clients").aggregate("value") == 0
    assert metrics.combined("redis.connected_clients").aggregate("max") >= 2
