"""The built-in ``system`` collector: the host, and perfgate's own load-generating processes.

Host metrics are what the machine as a whole did during the run; ``perfgate.cpu`` is the CPU
of perfgate and its worker processes (services perfgate started are not counted), in percent
of one core, so a saturated load generator (near 100% per process) is visible in the result.
"""

from __future__ import annotations

import os

import psutil

from perfgate.components import ComponentConfig, MetricInfo, SamplingCollector, TargetSpec
from perfgate.config import Duration
from perfgate.hookspecs import hookimpl
from perfgate.metrics import Kind
from perfgate.plugins import Register


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


class SystemCollector(SamplingCollector):
    """Samples host CPU, memory, disk and network, and perfgate's own CPU, with psutil."""

    name = "system"
    summary = "host CPU, memory, disk and network; CPU of perfgate's own load generator"
    Config = SystemConfig

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
        psutil.cpu_percent(interval=None)
        psutil.cpu_percent(interval=None, percpu=True)
        self._last_io: tuple[float, object, object] | None = None
        self._last_t: float | None = None

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
        # Keep Process objects between samples: cpu_percent() measures since the last call.
        alive = {}
        for proc in procs:
            alive[proc.pid] = self._procs.get(proc.pid, proc)
        self._procs = alive
        return list(alive.values())

    def sample(self, now: float) -> None:
        cpu = psutil.cpu_percent(interval=None)
        per_core = psutil.cpu_percent(interval=None, percpu=True)
        mem = psutil.virtual_memory()
        disk = psutil.disk_io_counters()
        net = psutil.net_io_counters()
        own_cpu, own_max, own_rss = 0.0, 0.0, 0.0
        for proc in self._own_processes():
            try:
                with proc.oneshot():
                    pct = proc.cpu_percent(interval=None)
                    own_rss += proc.memory_info().rss
            except psutil.Error:
                continue
            own_cpu += pct
            own_max = max(own_max, pct)
        previous, self._last_io = self._last_io, (now, disk, net)
        last_t, self._last_t = self._last_t, now
        # cpu_percent() readings cover the time since the previous call: the first covers
        # nothing, and one taken just after another (the final sample of a short run) is
        # too short to mean anything.
        if last_t is None or now - last_t < self.interval * 0.5:
            return
        m = self.metrics
        m.gauge("system.cpu", unit="%").add(cpu, now)
        m.gauge("system.cpu_core_max", unit="%").add(max(per_core or [cpu]), now)
        m.gauge("system.memory", unit="%").add(mem.percent, now)
        m.gauge("system.memory_used", unit="B").add(float(mem.total - mem.available), now)
        m.gauge("system.load1").add(os.getloadavg()[0], now)
        m.gauge("perfgate.cpu", unit="%").add(own_cpu, now)
        m.gauge("perfgate.cpu_max_process", unit="%").add(own_max, now)
        m.gauge("perfgate.memory", unit="B").add(own_rss, now)
        if previous is not None:
            then, old_disk, old_net = previous
            span = max(now - then, 1e-6)
            if disk is not None and old_disk is not None:
                m.gauge("system.disk_read", unit="B/s").add(
                    (disk.read_bytes - old_disk.read_bytes) / span, now)  # type: ignore[attr-defined]
                m.gauge("system.disk_write", unit="B/s").add(
                    (disk.write_bytes - old_disk.write_bytes) / span, now)  # type: ignore[attr-defined]
            if net is not None and old_net is not None:
                m.gauge("system.net_recv", unit="B/s").add(
                    (net.bytes_recv - old_net.bytes_recv) / span, now)  # type: ignore[attr-defined]
                m.gauge("system.net_sent", unit="B/s").add(
                    (net.bytes_sent - old_net.bytes_sent) / span, now)  # type: ignore[attr-defined]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(SystemCollector)
