"""perfgate-redis: what Redis did during a perfgate run.

The ``redis`` collector samples ``INFO all`` and times ``PING`` probes; counters are deltas
over the run window. See the README for every metric and what it means.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_redis.collector import RedisCollector
from perfgate_redis.config import RedisConfig

__all__ = ["RedisCollector", "RedisConfig", "perfgate_register_components"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``redis`` collector."""
    register(RedisCollector)
