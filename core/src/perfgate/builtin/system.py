"""The built-in ``system`` collector: the host, and perfgate's own load-generating processes.

Host metrics are what the machine as a whole did during the run; ``perfgate.cpu`` is the CPU
of perfgate and its worker processes (services perfgate started are not counted), in percent
of one core, so a saturated load generator (near 100% per process) is visible in the result.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from perfgate import (
    ComponentConfig,
    Duration,
    Kind,
    MetricInfo,
    Register,
    SamplingCollector,
    TargetSpec,
    hookimpl,
)


class SystemConfig(ComponentConfig):
    interval: Duration = 1.0
    #: Built-in check that the load generator itself was not saturated.
    check_load_generator: bool = True


GAUGES = [
    ("system.cpu", "%", "host CPU utilisation, all cores"),
    ("system.cpu_core_max", "%", "busiest core's utilisation"),
    ("system.memory", "%", "host memory in use"),
    ("system.memory_used", "B", "host memory in use"),
    ("system.load1", "", "1-minute load average"),
    ("system.disk_read", "B/s", "disk read throughput"),
    ("system.disk_write", "B/s", "disk write throughput"),
    ("system.net_recv", "B/s", "network receive throughput (all interfaces)"),
    ("system.net_sent", "B/s", "network send throughput (all interfaces)"),
    ("perfgate.cpu", "%", "CPU of perfgate's own processes, percent of one core"),
    ("perfgate.cpu_max_process", "%", "busiest perfgate process, percent of one core"),
    ("perfgate.memory", "B", "resident memory of perfgate's own processes"),
]


class SystemCollector(SamplingCollector[SystemConfig]):
    """Samples host CPU, memory, disk and network, and perfgate's own CPU, with psutil."""

    name = "system"
    summary = "host CPU, memory, disk and network; CPU of perfgate's own load generator"

    @classmethod
    def produces(cls, config: SystemConfig) -> list[MetricInfo]:
        return [MetricInfo(n, Kind.GAUGE, u, d) for n, u, d in GAUGES]

    @classmethod
    def builtin_targets(cls, config: SystemConfig) -> dict[str, TargetSpec]:
        if not config.check_load_generator:
            return {}
        return {"load-generator-cpu": TargetSpec(
            metric="perfgate.cpu_max_process", target="max < 90%", critical="avg < 95%",
            on_missing="skip",
            description="perfgate's busiest process must not saturate its core, or the "
                        "latencies it reports include its own queueing: a saturated sample "
                        "warns, saturation on average fails")}

    def open(self) -> None:
        self._me = psutil.Process(os.getpid())
        self._procs: dict[int, psutil.Process] = {}
        self._baseline: Reading | None = None
        self._proc_base: dict[int, tuple[float, float]] = {}

    def _own_processes(self) -> list[psutil.Process]:
        excluded = self.context.service_pids
        procs = [self._me]
        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                if child.pid in excluded or os.getpgid(child.pid) in excluded:
                    continue
            except (OSError, psutil.Error):
                continue
            procs.append(child)
        alive = {}
        for proc in procs:
            alive[proc.pid] = self._procs.get(proc.pid, proc)
        self._procs = alive
        return list(alive.values())

    def _read(self) -> Reading:
        """Raw counters, each read right after its own clock reading."""
        reading = Reading(at=time.monotonic(), cpu=_busy_total(psutil.cpu_times()),
                          cores=[_busy_total(c) for c in psutil.cpu_times(percpu=True)],
                          disk=psutil.disk_io_counters(), net=psutil.net_io_counters())
        for proc in self._own_processes():
            try:
                at = time.monotonic()
                with proc.oneshot():
                    times = proc.cpu_times()
                    reading.rss += proc.memory_info().rss
            except psutil.Error:
                continue
            reading.procs[proc.pid] = (at, times.user + times.system)
        return reading

    def _own_cpu(self, reading: Reading) -> list[float]:
        """Percent of one core for each of perfgate's processes, over windows long enough.

        Each process has its own baseline: its counters are read at their own moment (a
        sampler thread held back by a busy load generator reads them late), so the window is
        measured per process, and a window too short keeps its baseline for the next one.
        """
        out = []
        for pid, (at, secs) in reading.procs.items():
            base = self._proc_base.get(pid)
            if base is not None and at - base[0] < self.interval * 0.5:
                continue
            self._proc_base[pid] = (at, secs)
            if base is not None:
                out.append(100.0 * (secs - base[1]) / (at - base[0]))
        return out

    def sample(self, now: float) -> None:
        reading = self._read()
        before = self._baseline
        # Rates are deltas between two readings. The first reading is only a baseline; one
        # taken soon after the baseline (the final sample of a short run, or a sampler thread
        # that a busy load generator held back) would be a window too short to mean
        # anything, so the baseline stays and the next window is longer instead.
        if before is None or reading.at - before.at < self.interval * 0.5:
            self._baseline = before or reading
            if before is None:
                self._own_cpu(reading)  # the processes' first baselines
            return
        self._baseline = reading
        span = reading.at - before.at
        # A reading counts once for each interval it covers. A sampler thread held back (by a
        # load generator busy in the same process) reads late and its one reading then stands
        # for several intervals; counted once, the busy stretch would weigh less in a
        # window's average than the idle time around it.
        covers = max(1, round(span / self.interval))

        def add(name: str, value: float, unit: str | None = None) -> None:
            gauge = self.metrics.gauge(name, unit=unit)
            for i in range(covers - 1, -1, -1):
                gauge.add(value, now - i * self.interval)

        add("system.cpu", _percent(before.cpu, reading.cpu), "%")
        cores = [_percent(b, a) for b, a in zip(before.cores, reading.cores, strict=False)]
        add("system.cpu_core_max", max(cores, default=0.0), "%")
        mem = psutil.virtual_memory()
        add("system.memory", mem.percent, "%")
        add("system.memory_used", float(mem.total - mem.available), "B")
        add("system.load1", os.getloadavg()[0])
        own = self._own_cpu(reading)
        if own:
            add("perfgate.cpu", sum(own), "%")
            add("perfgate.cpu_max_process", max(own), "%")
        add("perfgate.memory", reading.rss, "B")
        for name, new, old, counter in (
                ("system.disk_read", reading.disk, before.disk, "read_bytes"),
                ("system.disk_write", reading.disk, before.disk, "write_bytes"),
                ("system.net_recv", reading.net, before.net, "bytes_recv"),
                ("system.net_sent", reading.net, before.net, "bytes_sent")):
            if new is not None and old is not None:
                add(name, (getattr(new, counter) - getattr(old, counter)) / span, "B/s")


@dataclass
class Reading:
    """One read of the raw counters; the system collector's rates are deltas of two."""

    at: float  # monotonic seconds
    cpu: tuple[float, float]  # (busy, total) CPU seconds, all cores
    cores: list[tuple[float, float]]
    disk: Any
    net: Any
    rss: float = 0.0
    #: pid → (monotonic time of the read, user + system CPU seconds)
    procs: dict[int, tuple[float, float]] = field(default_factory=dict)


def _busy_total(times: Any) -> tuple[float, float]:
    """(busy, total) CPU seconds as the kernel counts them; guest time is inside user time."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    busy, total = after[0] - before[0], after[1] - before[1]
    return min(max(100.0 * busy / total, 0.0), 100.0) if total > 0 else 0.0


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(SystemCollector)
