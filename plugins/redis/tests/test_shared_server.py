"""Against the shared Redis at 127.0.0.1:6379, which other tests may use at the same time.

The workload uses a database of its own (9) and keys with a unique prefix. Hit and miss
counters are server-wide, so a window is exact only if nobody else sent commands during it:
the collector's ``redis.commands`` (its own commands left out) tells whether that was so. The
test tries a few short windows; in a quiet one the hit rate must be exact, in a busy one the
workload's hits and misses are still lower bounds.
"""

from __future__ import annotations

import uuid

from perfgate_redis import RedisConfig

from .conftest import quiet_client

HITS, MISSES = 40, 10


def test_hit_rate_of_a_known_workload(shared_url, run_collector):
    prefix = f"perfgate-test:{uuid.uuid4().hex}:"
    client = quiet_client(shared_url)
    sets = 5
    busy = 0
    try:
        for _ in range(5):
            def workload() -> None:
                for i in range(sets):
                    client.set(f"{prefix}{i}", "v", ex=60)
                for i in range(HITS):
                    assert client.get(f"{prefix}{i % sets}") == b"v"
                for i in range(MISSES):
                    assert client.get(f"{prefix}missing{i}") is None

            cfg = RedisConfig(url=shared_url, interval="100ms", probes=1)
            collector, metrics = run_collector(cfg, workload)
            assert collector.errors == []
            hit_rate = metrics.combined("redis.hit_rate")
            commands = metrics.combined("redis.commands").aggregate("count")
            assert hit_rate.passes >= HITS and hit_rate.total - hit_rate.passes >= MISSES
            assert commands >= sets + HITS + MISSES
            if commands == sets + HITS + MISSES:  # nobody else was talking to the server
                assert (hit_rate.passes, hit_rate.total) == (HITS, HITS + MISSES)
                assert hit_rate.aggregate("rate") == 0.8
                return
            busy += 1
        # Five busy windows in a row: the lower bounds above held in each of them.
        print(f"the shared Redis was busy in {busy} windows; exactness checked on a "
              "private server in test_metrics.py")
    finally:
        client.delete(*[f"{prefix}{i}" for i in range(sets)])
