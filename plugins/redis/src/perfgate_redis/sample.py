"""One reading of ``INFO`` and what changed between two readings.

Redis counts everything since it started (or since ``CONFIG RESETSTAT``); the collector works
with the difference between two samples. A counter that went down, or a new ``run_id`` (the
server restarted), counts from zero again.

The collector's own commands (``PING`` probes and ``INFO`` itself) are counted on the client
and taken out of ``redis.commands`` and of the ``ping``/``info`` command statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfgate import counter_delta

COUNTERS = ("keyspace_hits", "keyspace_misses", "total_commands_processed", "evicted_keys",
            "expired_keys")
GAUGES = ("used_memory", "maxmemory", "connected_clients", "blocked_clients")


@dataclass
class Sample:
    """What one ``INFO all`` said, and how many commands the collector had sent before it."""

    at: float
    run_id: str
    counters: dict[str, int]
    gauges: dict[str, int]
    #: command name → (calls, microseconds) from ``INFO commandstats``.
    commands: dict[str, tuple[int, int]]
    #: database number → number of keys.
    keys: dict[str, int]
    #: The collector's own commands sent before this sample's ``INFO`` (by command name).
    own: dict[str, int]
    version: str = ""
    policy: str = ""
    probe_ms: list[float] = field(default_factory=list)

    @classmethod
    def from_info(cls, info: dict[str, Any], at: float, own: dict[str, int],
                  probe_ms: list[float]) -> Sample:
        commands = {}
        keys = {}
        for key, value in info.items():
            if key.startswith("cmdstat_") and isinstance(value, dict):
                commands[key.removeprefix("cmdstat_")] = (int(value.get("calls", 0)),
                                                          int(value.get("usec", 0)))
            elif key.startswith("db") and key[2:].isdigit() and isinstance(value, dict):
                keys[key[2:]] = int(value.get("keys", 0))
        return cls(at=at, run_id=str(info.get("run_id", "")),
                   counters={c: int(info.get(c, 0)) for c in COUNTERS},
                   gauges={g: int(info.get(g, 0)) for g in GAUGES},
                   commands=commands, keys=keys, own=dict(own),
                   version=str(info.get("redis_version", "")),
                   policy=str(info.get("maxmemory_policy", "")), probe_ms=list(probe_ms))


@dataclass(frozen=True)
class CommandDelta:
    """Calls of one command between two samples (the collector's own left out)."""

    command: str
    calls: int
    usec: float


@dataclass(frozen=True)
class Delta:
    """What happened between two samples."""

    counters: dict[str, int]
    #: Commands processed, less the collector's own.
    commands_processed: int
    commands: list[CommandDelta]


def delta(previous: Sample, current: Sample) -> Delta:
    """The change from ``previous`` to ``current``."""
    restarted = previous.run_id != current.run_id
    counters = {c: int(counter_delta(previous.counters.get(c), v, restarted=restarted))
                for c, v in current.counters.items()}
    own = {c: n - previous.own.get(c, 0) for c, n in current.own.items()}
    commands = []
    for name, (calls, usec) in current.commands.items():
        before = previous.commands.get(name)
        # Calls and time are counted together: when the calls start again, so does the time.
        if before is None or restarted or calls < before[0]:
            d_calls, d_usec = calls, usec
        else:
            d_calls, d_usec = calls - before[0], usec - before[1]
        if d_calls <= 0:
            continue
        theirs = d_calls - own.get(name, 0)
        if theirs > 0:
            # Our calls are taken out at the interval's mean time per call.
            commands.append(CommandDelta(name, theirs, max(d_usec, 0) * theirs / d_calls))
    processed = max(counters["total_commands_processed"] - sum(own.values()), 0)
    return Delta(counters=counters, commands_processed=processed, commands=commands)
