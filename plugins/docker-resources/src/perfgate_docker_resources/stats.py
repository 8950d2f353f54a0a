"""One sample of the engine's stats stream, read the way the docker CLI reads it.

The formulas are those of ``docker stats`` (docker/cli, ``cli/command/container/stats_helpers.go``):

- CPU % = Δ``cpu_stats.cpu_usage.total_usage`` / Δ``cpu_stats.system_cpu_usage`` *
  ``online_cpus`` * 100, against ``precpu_stats`` (the previous sample the engine sends along);
  0 unless both deltas are positive. 100% is one core. The first sample of a stream has no
  ``precpu_stats`` and gives no CPU value.
- memory = ``usage`` - ``total_inactive_file`` (cgroup v1) or - ``inactive_file`` (v2), when
  that is less than ``usage``: page cache the kernel can drop at once is not the container's;
  memory % = that / ``limit`` * 100 (the limit is the host's memory when none is set).
- network = the sum over interfaces of ``rx_bytes`` and ``tx_bytes``; block I/O = the sum of
  ``io_service_bytes_recursive`` entries whose ``op`` is ``read`` or ``write`` (any case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Reading:
    """What one stats sample says, in the CLI's terms; ``None`` where it says nothing."""

    at: float  # epoch seconds of the engine's reading
    cpu_percent: float | None
    memory: float | None  # B
    memory_limit: float | None  # B
    net_rx: float | None  # B since the container started
    net_tx: float | None
    block_read: float | None
    block_write: float | None
    pids: float | None

    @property
    def memory_percent(self) -> float | None:
        if self.memory is None or not self.memory_limit:
            return None
        return self.memory / self.memory_limit * 100.0


def parse_time(text: str) -> float:
    """Epoch seconds of the engine's RFC 3339 time with nanoseconds (``...T16:43:35.1136857Z``)."""
    head, _, fraction = text.rstrip("Z").partition(".")
    fraction, sign, offset = (fraction.partition("+") if "+" in fraction
                              else fraction.partition("-"))
    base = datetime.fromisoformat(head + (f"{sign}{offset}" if sign else "+00:00"))
    return base.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def cpu_percent(stats: dict[str, Any]) -> float | None:
    """The CLI's CPU %, or None for the first sample of a stream (no ``precpu_stats``)."""
    cpu = stats.get("cpu_stats") or {}
    pre = stats.get("precpu_stats") or {}
    if not pre.get("system_cpu_usage") or not cpu.get("system_cpu_usage"):
        return None
    cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
    system_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    online = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or ())
    if system_delta > 0 and cpu_delta > 0:
        return float(cpu_delta / system_delta * online * 100.0)
    return 0.0


def memory_usage(stats: dict[str, Any]) -> float | None:
    """Usage less the inactive page cache (cgroup v1 or v2), or None without memory stats."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    usage = memory["usage"]
    counters = memory.get("stats") or {}
    inactive = counters.get("total_inactive_file", counters.get("inactive_file"))
    if inactive is not None and inactive < usage:
        return float(usage - inactive)
    return float(usage)


def network_bytes(stats: dict[str, Any]) -> tuple[float, float] | None:
    """Bytes received and sent on every interface, or None (host networking has none)."""
    networks = stats.get("networks")
    if not networks:
        return None
    return (float(sum(n.get("rx_bytes", 0) for n in networks.values())),
            float(sum(n.get("tx_bytes", 0) for n in networks.values())))


def block_bytes(stats: dict[str, Any]) -> tuple[float, float] | None:
    """Bytes read and written by block devices, or None when the engine gives no entries."""
    entries = (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive")
    if entries is None:
        return None
    read = sum(e.get("value", 0) for e in entries if str(e.get("op", "")).lower() == "read")
    write = sum(e.get("value", 0) for e in entries if str(e.get("op", "")).lower() == "write")
    return float(read), float(write)


def read_sample(stats: dict[str, Any]) -> Reading:
    """Everything :class:`Reading` holds from one decoded stats sample."""
    net = network_bytes(stats)
    block = block_bytes(stats)
    memory = stats.get("memory_stats") or {}
    pids = (stats.get("pids_stats") or {}).get("current")
    return Reading(
        at=parse_time(stats["read"]),
        cpu_percent=cpu_percent(stats),
        memory=memory_usage(stats),
        memory_limit=float(memory["limit"]) if memory.get("limit") else None,
        net_rx=net[0] if net else None, net_tx=net[1] if net else None,
        block_read=block[0] if block else None, block_write=block[1] if block else None,
        pids=float(pids) if pids is not None else None)


def cpu_limit(host_config: dict[str, Any]) -> float | None:
    """The CPUs a container may use (``--cpus``, a CFS quota, or a cpuset), or None."""
    if host_config.get("NanoCpus"):
        return float(host_config["NanoCpus"]) / 1e9
    quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or 100_000
    if quota > 0:
        return quota / period
    cpuset = host_config.get("CpusetCpus") or ""
    if cpuset:
        count = 0
        for part in cpuset.split(","):
            first, _, last = part.partition("-")
            count += int(last or first) - int(first) + 1
        return float(count)
    return None
