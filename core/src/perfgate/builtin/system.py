"""The built-in ``system`` collector: the host, perfgate's own processes, and the services
perfgate started.

Host metrics are what the machine as a whole did during the run; ``perfgate.cpu`` is the CPU
of perfgate and its worker processes (services perfgate started are not counted), in percent
of one core, so a saturated load generator (near 100% per process) is visible in the result.
``service.*{service:<name>}`` is each started service's process tree (the process perfgate
started and all its descendants): CPU in percent of one core, resident memory, threads and
open file descriptors, so a target can judge the service itself on a machine other work
shares.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
from pydantic import Field

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
    interval: Duration = Field(default=1.0, gt=0)
    #: Built-in check that the load generator itself was not saturated.
    check_load_generator: bool = True
    #: Measure the process tree of every service perfgate started (``service.*``).
    services: bool = True


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

#: Per started service, tagged ``service:<name>``: its whole process tree.
SERVICE_GAUGES = [
    ("service.cpu", "%", "CPU of a started service's processes, percent of one core"),
    ("service.cpu_max_process", "%", "a started service's busiest process, percent of one core"),
    ("service.memory", "B", "resident memory of a started service's processes"),
    ("service.threads", "", "threads of a started service's processes"),
    ("service.open_files", "", "open file descriptors (files, sockets, pipes) of a started "
                               "service's processes"),
    ("service.processes", "", "processes in a started service's process tree"),
]


@dataclass
class ProcessReading:
    """One process's counters, read together at ``at``."""

    at: float  # monotonic seconds
    cpu: float  # user + system CPU seconds
    rss: float
    threads: int
    fds: int


@dataclass
class Reading:
    """One read of the raw counters; the system collector's rates are deltas of two."""

    at: float  # monotonic seconds
    cpu: tuple[float, float]  # (busy, total) CPU seconds, all cores
    cores: list[tuple[float, float]]
    disk: Any
    net: Any
    #: perfgate's own processes: pid → counters
    procs: dict[int, ProcessReading] = field(default_factory=dict)
    #: each started service's process tree: service → pid → counters
    services: dict[str, dict[int, ProcessReading]] = field(default_factory=dict)


class SystemCollector(SamplingCollector[SystemConfig]):
    """Samples host CPU, memory, disk and network, perfgate's own CPU, and the process tree
    of each service perfgate started, with psutil."""

    name = "system"
    summary = ("host CPU, memory, disk and network; CPU of perfgate's own load generator; "
               "CPU, memory, threads and open files of the services perfgate started")

    @classmethod
    def produces(cls, config: SystemConfig) -> list[MetricInfo]:
        gauges = GAUGES + (SERVICE_GAUGES if config.services else [])
        return [MetricInfo(n, Kind.GAUGE, u, d) for n, u, d in gauges]

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

    def _process(self, proc: psutil.Process) -> psutil.Process:
        """The same psutil object for a PID each time (it checks the PID was not reused)."""
        return self._procs.get(proc.pid, proc)

    def _trees(self) -> tuple[list[psutil.Process], dict[str, list[psutil.Process]]]:
        """perfgate's own processes, and each started service's process tree.

        A service's tree is the process perfgate started and all its descendants; perfgate's
        own are this process and its descendants outside every service's tree and process
        group.
        """
        groups = self.context.service_groups
        services: dict[str, list[psutil.Process]] = {}
        in_services: set[int] = set()
        for name, pgid in groups.items():
            try:
                leader = self._process(psutil.Process(pgid))
                tree = [leader, *leader.children(recursive=True)]
            except psutil.Error:
                continue  # it has exited; the service watcher reports that
            tree = [self._process(p) for p in tree]
            in_services.update(p.pid for p in tree)
            if self.config.services:
                services[name] = tree
        excluded = set(groups.values())
        own = [self._me]
        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                if (child.pid in in_services or child.pid in excluded
                        or os.getpgid(child.pid) in excluded):
                    continue
            except (OSError, psutil.Error):
                continue
            own.append(self._process(child))
        self._procs = {p.pid: p for p in [*own, *(p for t in services.values() for p in t)]}
        return own, services

    def _read(self) -> Reading:
        """Raw counters, each read right after its own clock reading."""
        reading = Reading(at=time.monotonic(), cpu=_busy_total(psutil.cpu_times()),
                          cores=[_busy_total(c) for c in psutil.cpu_times(percpu=True)],
                          disk=psutil.disk_io_counters(), net=psutil.net_io_counters())
        own, services = self._trees()
        reading.procs = _read_processes(own, fds=False)
        reading.services = {name: _read_processes(tree, fds=True)
                            for name, tree in services.items()}
        return reading

    def _cpu(self, procs: dict[int, ProcessReading]) -> list[float]:
        """Percent of one core for each process, over windows long enough.

        Each process has its own baseline: its counters are read at their own moment (a
        sampler thread held back by a busy load generator reads them late), so the window is
        measured per process, and a window too short keeps its baseline for the next one.
        """
        out = []
        for pid, proc in procs.items():
            base = self._proc_base.get(pid)
            if base is not None and proc.at - base[0] < self.interval * 0.5:
                continue
            self._proc_base[pid] = (proc.at, proc.cpu)
            if base is not None:
                out.append(100.0 * (proc.cpu - base[1]) / (proc.at - base[0]))
        return out

    def _forget_exited(self, reading: Reading) -> None:
        alive = set(reading.procs).union(*(set(t) for t in reading.services.values()))
        for pid in set(self._proc_base) - alive:
            del self._proc_base[pid]

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
                self._cpu(reading.procs)  # the processes' first baselines
                for tree in reading.services.values():
                    self._cpu(tree)
            return
        self._baseline = reading
        span = reading.at - before.at
        # A reading counts once for each interval it covers. A sampler thread held back (by a
        # load generator busy in the same process) reads late and its one reading then stands
        # for several intervals; counted once, the busy stretch would weigh less in a
        # window's average than the idle time around it.
        covers = max(1, round(span / self.interval))

        def add(name: str, value: float, unit: str | None = None,
                tags: dict[str, str] | None = None) -> None:
            gauge = self.metrics.gauge(name, tags, unit=unit)
            for i in range(covers - 1, -1, -1):
                gauge.add(value, now - i * self.interval)

        add("system.cpu", _percent(before.cpu, reading.cpu), "%")
        cores = [_percent(b, a) for b, a in zip(before.cores, reading.cores, strict=False)]
        add("system.cpu_core_max", max(cores, default=0.0), "%")
        mem = psutil.virtual_memory()
        add("system.memory", mem.percent, "%")
        add("system.memory_used", float(mem.total - mem.available), "B")
        add("system.load1", os.getloadavg()[0])
        own = self._cpu(reading.procs)
        if own:
            add("perfgate.cpu", sum(own), "%")
            add("perfgate.cpu_max_process", max(own), "%")
        add("perfgate.memory", sum(p.rss for p in reading.procs.values()), "B")
        for service, tree in reading.services.items():
            self._sample_service(service, tree, add)
        self._forget_exited(reading)
        for name, new, old, counter in (
                ("system.disk_read", reading.disk, before.disk, "read_bytes"),
                ("system.disk_write", reading.disk, before.disk, "write_bytes"),
                ("system.net_recv", reading.net, before.net, "bytes_recv"),
                ("system.net_sent", reading.net, before.net, "bytes_sent")):
            if new is not None and old is not None:
                add(name, (getattr(new, counter) - getattr(old, counter)) / span, "B/s")

    def _sample_service(self, service: str, tree: dict[int, ProcessReading],
                        add: Callable[..., None]) -> None:
        tags = {"service": service}
        cpu = self._cpu(tree)
        if cpu:
            add("service.cpu", sum(cpu), "%", tags)
            add("service.cpu_max_process", max(cpu), "%", tags)
        if not tree:
            return
        procs = tree.values()
        add("service.memory", sum(p.rss for p in procs), "B", tags)
        add("service.threads", sum(p.threads for p in procs), None, tags)
        add("service.open_files", sum(p.fds for p in procs), None, tags)
        add("service.processes", len(tree), None, tags)


def _read_processes(procs: list[psutil.Process], fds: bool) -> dict[int, ProcessReading]:
    """Each process's counters; one that exited meanwhile is left out."""
    out = {}
    for proc in procs:
        try:
            at = time.monotonic()
            with proc.oneshot():
                times = proc.cpu_times()
                out[proc.pid] = ProcessReading(
                    at, times.user + times.system, float(proc.memory_info().rss),
                    proc.num_threads(), proc.num_fds() if fds else 0)
        except psutil.Error:
            continue
    return out


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
