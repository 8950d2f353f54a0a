"""abort_on_fail: critical thresholds judged on the live metrics stop every driver early.

A ``pulse`` driver records one latency every 50 ms, ``fast`` until ``slow_after`` then
``slow``, publishing a delta after each; it records when it really stopped, so how soon the
load stopped after the threshold was found crossed is known.
"""

from __future__ import annotations

import textwrap
import time
from typing import Any

import pytest

from perfgate import DriverScenario, Duration, Kind, LoadDriver, MetricInfo, MetricSet, hookimpl
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("test_plugins")

STEP = 0.05


class PulseScenario(DriverScenario):
    seconds: Duration = 10.0
    slow_after: Duration = 1000.0
    fast: float = 10.0
    slow: float = 500.0


class PulseDriver(LoadDriver[PulseScenario]):
    name = "pulse"

    @classmethod
    def produces(cls, config: PulseScenario) -> list[MetricInfo]:
        return [MetricInfo("pulse.latency", Kind.TREND, "ms"),
                MetricInfo("pulse.never", Kind.TREND, "ms"),
                MetricInfo("checks", Kind.RATE)]

    def run(self) -> MetricSet:
        metrics = MetricSet(deltas=True)
        start = time.time()
        while not self.context.stopping.is_set():
            elapsed = time.time() - start
            if elapsed >= self.config.seconds:
                break
            slow = elapsed >= self.config.slow_after
            metrics.trend("pulse.latency", unit="ms").add(
                self.config.slow if slow else self.config.fast)
            self.publish(metrics.take_delta())
            self.context.wait(STEP)
        metrics.set_window(start, time.time())
        return metrics


class Plugin:
    @staticmethod
    @hookimpl
    def perfgate_register_components(register: Any) -> None:
        register(PulseDriver)


def run(yaml: str, tmp_path, **options: Any):
    return run_targets("version: 1\n" + textwrap.dedent(yaml), output_dir=tmp_path,
                       plugins=(Plugin,), **options)


def test_crossing_a_critical_threshold_stops_every_scenario(tmp_path) -> None:
    outcome = run("""
        scenarios:
          turning: {driver: pulse, seconds: 20s, slow_after: 500ms}
          steady: {driver: pulse, seconds: 20s}
          later: {driver: pulse, seconds: 1s, start_time: 15s}
        targets:
          latency:
            metric: "pulse.latency{scenario:turning}"
            critical: max < 100ms
            abort_on_fail: true
          steady: {metric: "pulse.latency{scenario:steady}", critical: max < 100ms}
        """, tmp_path)
    result = outcome.result
    s = {doc["name"]: doc for doc in result.scenarios}
    aborted = result.run["aborted"]
    assert (result.run["status"], outcome.exit_code) == ("aborted", 1)
    assert aborted["check"] == "latency"
    assert aborted["message"].startswith("max = 500.00ms crossed critical max < 100ms ")
    # Judged on live updates about a second apart, after the first slow value (500 ms in).
    assert 0.5 <= aborted["after"] < 0.5 + 2.5
    for name in ("turning", "steady"):
        assert s[name]["status"] == "aborted"
        assert s[name]["finished"] - aborted["at"] < 1.0
        assert "stopped by check 'latency'" in s[name]["error"]
    assert (s["later"]["status"], s["later"]["started"]) == ("aborted", None)
    assert "not started" in s["later"]["error"]
    checks = {c.name: c for c in result.checks}
    assert checks["latency"].verdict.value == "fail"
    assert checks["latency"].message.endswith("stopped the load: " + aborted["message"])
    assert checks["steady"].verdict.value == "pass"  # what was measured is judged
    assert result.run["duration"] < 6


def test_delay_abort_eval_waits_from_the_scenario_start(tmp_path) -> None:
    outcome = run("""
        scenarios:
          idle: {driver: pulse, seconds: 10s}
          load: {driver: pulse, seconds: 10s, slow_after: 0s, start_time: 500ms}
        targets:
          latency:
            metric: "pulse.latency{scenario:load}"
            critical: p(95) < 100ms
            abort_on_fail: true
            delay_abort_eval: 2s
        """, tmp_path)
    result = outcome.result
    load = next(s for s in result.scenarios if s["name"] == "load")
    aborted = result.run["aborted"]
    assert aborted["at"] - load["started"] >= 2.0
    assert aborted["at"] - load["started"] < 2.0 + 2.0  # the next live update or so
    assert outcome.exit_code == 1


def test_a_threshold_with_no_samples_stops_nothing_and_fails_at_the_end(tmp_path) -> None:
    # k6#4283: a rate >= 0.9 on checks that never ran passed. Here it is never judged
    # live (no samples: it has neither passed nor failed), and fails at the end.
    outcome = run("""
        scenarios:
          load: {driver: pulse, seconds: 2500ms}
        targets:
          checks: {metric: checks, critical: rate >= 0.9, abort_on_fail: true}
          never: {metric: pulse.never, critical: p(95) < 1ms, abort_on_fail: true}
          fine: {metric: pulse.latency, critical: max < 100ms, abort_on_fail: true}
        """, tmp_path)
    result = outcome.result
    assert result.run["status"] == "completed" and result.run["aborted"] is None
    [load] = result.scenarios
    assert load["status"] == "completed"
    assert 2.5 <= load["finished"] - load["started"] < 4.0  # not stopped early
    verdicts = {c.name: (c.verdict.value, c.message) for c in result.checks}
    assert verdicts["checks"] == ("fail", "checks was never measured (on_missing: fail)")
    assert verdicts["never"][0] == "fail"
    assert verdicts["fine"][0] == "pass"
    assert outcome.exit_code == 1
