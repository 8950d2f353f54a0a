"""An in-repo plugin for end-to-end tests: a load driver with known numbers and a collector
that can be told to break. Loaded with ``PERFGATE_PLUGINS=gateplugin`` (and PYTHONPATH)."""

from __future__ import annotations

import random
import time
from typing import Literal

from perfgate import (
    Collector,
    ComponentConfig,
    DriverScenario,
    Duration,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    TargetSpec,
    hookimpl,
)


class SyntheticScenario(DriverScenario):
    #: Every sample of synthetic.latency gets this value (ms).
    latency_ms: float = 10.0
    #: Spread latencies evenly over [latency_ms, latency_ms + jitter_ms) in a shuffled order
    #: (``seed``), for tests of noise; 0 records latency_ms every time.
    jitter_ms: float = 0.0
    seed: int = 0
    #: How many operations are recorded.
    operations: int = 100
    #: This many of them are marked failed in synthetic.failed.
    failures: int = 0
    #: The scenario lasts this long (scaled by --time-scale), or until interrupted.
    duration: Duration = 0.0
    crash: bool = False
    #: Spend the duration busy on the CPU instead of sleeping (a saturated load generator).
    burn: bool = False


class SyntheticDriver(LoadDriver[SyntheticScenario]):
    """Records known numbers: the ground truth for end-to-end tests."""

    name = "synthetic"
    summary = "records known numbers (tests only)"

    @classmethod
    def produces(cls, config: SyntheticScenario) -> list[MetricInfo]:
        return [MetricInfo("synthetic.latency", Kind.TREND, "ms"),
                MetricInfo("synthetic.failed", Kind.RATE, "ratio"),
                MetricInfo("synthetic.ops", Kind.COUNTER, "")]

    def run(self) -> MetricSet:
        scenario = self.config
        metrics = MetricSet()
        start = time.time()
        cpu_start = time.process_time()
        deadline = time.monotonic() + self.context.scale(scenario.duration)
        while time.monotonic() < deadline and not self.context.stopping.is_set():
            if scenario.burn:
                sum(range(10_000))
                # Between chunks the GIL is handed over, as a driver waiting on sockets does:
                # a thread that never lets go holds the system collector's sampler back
                # (each handover otherwise waits for the interpreter's switch interval).
                time.sleep(0)
            else:
                time.sleep(0.02)
        self.cpu = {"cpu_seconds": time.process_time() - cpu_start,
                    "wall_seconds": time.time() - start}
        if scenario.crash:
            raise RuntimeError("synthetic driver crashed on purpose")
        latency = metrics.trend("synthetic.latency")
        failed = metrics.rate("synthetic.failed")
        ops = metrics.counter("synthetic.ops")
        n = scenario.operations
        spread = [scenario.latency_ms + scenario.jitter_ms * (i + random.Random(
            scenario.seed * n + i).random()) / n for i in range(n)]
        random.Random(scenario.seed).shuffle(spread)
        for i in range(n):
            latency.add(spread[i])
            failed.add(i < scenario.failures)
            ops.add(1)
        metrics.set_window(start, max(time.time(), start + 1.0))
        return metrics


    def details(self) -> dict[str, float]:
        """The CPU this process used while the scenario ran: ground truth for perfgate.cpu."""
        return getattr(self, "cpu", {})


class CrashyConfig(ComponentConfig):
    fail_on: Literal["never", "start", "stop"] = "never"
    value: float = 42.0
    #: Quoted in the error message, as a careless plugin might: reports must redact it.
    dsn: str = "postgresql://app@127.0.0.1/app"
    #: Propose a built-in check (`value > 0`) on this collector's own series.
    builtin_check: bool = False


class CrashyCollector(Collector):
    """A collector that records one gauge value, or raises where it is told to."""

    name = "crashy"
    summary = "records one gauge, or crashes on purpose (tests only)"
    Config = CrashyConfig

    @classmethod
    def produces(cls, config: CrashyConfig) -> list[MetricInfo]:
        return [MetricInfo("crashy.value", Kind.GAUGE, "")]

    @classmethod
    def builtin_targets(cls, config: CrashyConfig) -> dict[str, TargetSpec]:
        if not config.builtin_check:
            return {}
        return {"positive": TargetSpec(metric="crashy.value", critical="value > 0",
                                       on_missing="fail")}

    def start(self) -> None:
        if self.config.fail_on == "start":
            raise ConnectionError(f"cannot reach {self.config.dsn} (on purpose)")

    def stop(self) -> MetricSet:
        if self.config.fail_on == "stop":
            raise RuntimeError("crashy collector failed while stopping (on purpose)")
        metrics = MetricSet()
        metrics.gauge("crashy.value").add(self.config.value)
        return metrics


@hookimpl
def perfgate_register_components(register) -> None:
    register(SyntheticDriver)
    register(CrashyCollector)
