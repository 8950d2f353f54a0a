"""The system collector's CPU arithmetic, on readings with known numbers."""

from __future__ import annotations

import pytest

from perfgate.builtin.system import (
    ProcessReading,
    Reading,
    SystemCollector,
    SystemConfig,
    _percent,
)
from perfgate.testing import run_context


def processes(procs: dict[int, tuple[float, float]]) -> dict[int, ProcessReading]:
    """pid → (when it was read, CPU seconds it had used) as readings."""
    return {pid: ProcessReading(at, cpu, 0.0, 1, 0) for pid, (at, cpu) in procs.items()}


def test_each_process_is_measured_over_a_window_of_its_own():
    collector = SystemCollector(SystemConfig(interval=0.25), run_context())
    collector.open()
    assert collector._cpu(processes({1: (0.0, 0.0), 2: (0.2, 5.0)})) == []
    # Process 1 was read 0.5 s later having used 0.5 s of CPU: 100%. Process 2 was read
    # only 0.02 s after its baseline (its thread was held back): too short a window, so it
    # is left out now and keeps its baseline instead of reporting 0.03/0.02 = 150%.
    assert collector._cpu(processes({1: (0.5, 0.5), 2: (0.22, 5.03)})) == [100.0]
    # Next time process 2's window runs from its old baseline: 0.6 s of CPU over 1.0 s.
    values = collector._cpu(processes({1: (1.0, 0.75), 2: (1.2, 5.6)}))
    assert values == pytest.approx([50.0, 60.0])


@pytest.mark.parametrize(("before", "after", "expected"), [
    ((10.0, 40.0), (11.0, 42.0), 50.0),   # 1 s busy of 2 s across all cores
    ((10.0, 40.0), (10.0, 40.0), 0.0),    # no time passed: nothing to report
    ((10.0, 40.0), (13.0, 42.0), 100.0),  # counters read out of step: never above 100%
])
def test_host_percent_is_busy_over_total(before, after, expected):
    assert _percent(before, after) == pytest.approx(expected)


def test_a_late_reading_counts_once_for_each_interval_it_covers():
    """The whole run's average CPU is weighted by time, not by how often the sampler ran."""
    collector = SystemCollector(SystemConfig(interval=0.25), run_context())
    collector.open()
    readings = iter([
        Reading(at=0.0, cpu=(0.0, 0.0), cores=[], disk=None, net=None),
        # Idle for two on-time intervals (10% busy)...
        Reading(at=0.25, cpu=(0.025, 0.25), cores=[], disk=None, net=None),
        Reading(at=0.5, cpu=(0.05, 0.5), cores=[], disk=None, net=None),
        # ...then a sampler held back for a whole second of 90% busy: four intervals.
        Reading(at=1.5, cpu=(0.95, 1.5), cores=[], disk=None, net=None),
    ])
    collector._read = lambda: next(readings)  # type: ignore[method-assign]
    for now in (100.0, 100.25, 100.5, 101.5):
        collector.sample(now)
    cpu = collector.metrics.gauge("system.cpu", unit="%")
    assert cpu.count == 6
    # 0.5 s at 10% and 1 s at 90%: 63.3%, where one count per reading would say 36.7%.
    assert cpu.aggregate("avg") == pytest.approx((2 * 10 + 4 * 90) / 6)
    assert cpu.aggregate("max") == pytest.approx(90.0)
    assert cpu.last_t == 101.5
