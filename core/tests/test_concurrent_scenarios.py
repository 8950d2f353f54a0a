"""Scenarios run together, as in k6: start_time, after, --only, stops, windows and during.

The ground truth is the clock: a ``sleeper`` driver records when it really ran, and a
``clock`` collector records the time of each sample as its value, so the samples a window
holds show exactly when they were taken.
"""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time
from typing import Any

import pytest

from perfgate import (
    ComponentConfig,
    DriverScenario,
    Duration,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    SamplingCollector,
    hookimpl,
)
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("test_plugins")


class SleeperScenario(DriverScenario):
    seconds: Duration = 0.5
    crash: bool = False


class SleeperDriver(LoadDriver[SleeperScenario]):
    """Sleeps ``seconds`` (scaled) or until stopped; records one op at its real start and end."""

    name = "sleeper"

    @classmethod
    def produces(cls, config: SleeperScenario) -> list[MetricInfo]:
        return [MetricInfo("sleeper.ops", Kind.COUNTER)]

    def run(self) -> MetricSet:
        if self.config.crash:
            raise RuntimeError("crashed on purpose")
        metrics = MetricSet()
        start = time.time()
        self.context.wait(self.context.scale(self.config.seconds))
        metrics.counter("sleeper.ops").add(1)
        metrics.set_window(start, time.time())
        return metrics


class ClockConfig(ComponentConfig):
    interval: Duration = 0.05


class ClockCollector(SamplingCollector[ClockConfig]):
    """Samples the clock: ``clock.t`` is the epoch time the sample was taken."""

    name = "clock"

    @classmethod
    def produces(cls, config: ClockConfig) -> list[MetricInfo]:
        return [MetricInfo("clock.t", Kind.GAUGE), MetricInfo("clock.samples", Kind.COUNTER)]

    def sample(self, now: float) -> None:
        self.metrics.gauge("clock.t").add(now, now)
        self.metrics.counter("clock.samples").add(1, now)


class Plugin:
    @staticmethod
    @hookimpl
    def perfgate_register_components(register: Any) -> None:
        register(SleeperDriver)
        register(ClockCollector)


def run(yaml: str, tmp_path, **options: Any):
    return run_targets("version: 1\n" + textwrap.dedent(yaml), output_dir=tmp_path,
                       plugins=(Plugin,), **options)


def scenarios(outcome) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in outcome.result.scenarios}


def test_scenarios_run_together_each_from_its_start_time(tmp_path) -> None:
    outcome = run("""
        scenarios:
          a: {driver: sleeper, seconds: 1s}
          b: {driver: sleeper, seconds: 500ms, start_time: 300ms}
        """, tmp_path)
    s = scenarios(outcome)
    assert s["b"]["started"] - s["a"]["started"] == pytest.approx(0.3, abs=0.08)
    assert s["b"]["started"] < s["a"]["finished"]  # together, not one after the other
    assert s["a"]["finished"] - s["a"]["started"] == pytest.approx(1.0, abs=0.15)
    assert (s["b"]["start_time"], s["b"]["after"]) == (0.3, None)
    assert outcome.result.run["finished"] - outcome.result.run["started"] < 1.8
    assert [v["status"] for v in s.values()] == ["completed", "completed"]
    assert outcome.exit_code == 0


def test_after_starts_when_the_other_ends_and_start_time_counts_from_there(tmp_path) -> None:
    outcome = run("""
        scenarios:
          c: {driver: sleeper, seconds: 200ms, after: b, start_time: 200ms}
          a: {driver: sleeper, seconds: 300ms}
          b: {driver: sleeper, seconds: 300ms, after: a}
        """, tmp_path)
    s = scenarios(outcome)
    assert 0 <= s["b"]["started"] - s["a"]["finished"] < 0.08
    assert s["c"]["started"] - s["b"]["finished"] == pytest.approx(0.2, abs=0.08)
    assert [r["name"] for r in outcome.result.scenarios] == ["c", "a", "b"]  # the file's order


def test_time_scale_scales_start_time(tmp_path) -> None:
    outcome = run("""
        scenarios:
          a: {driver: sleeper, seconds: 1s}
          b: {driver: sleeper, seconds: 1s, start_time: 1s}
        """, tmp_path, time_scale=0.4)
    s = scenarios(outcome)
    assert s["b"]["started"] - s["a"]["started"] == pytest.approx(0.4, abs=0.08)
    assert s["b"]["start_time"] == pytest.approx(0.4)


def test_only_runs_a_scenario_whose_after_was_left_out_from_the_start(tmp_path) -> None:
    outcome = run("""
        scenarios:
          warmup: {driver: sleeper, seconds: 2s}
          load: {driver: sleeper, seconds: 200ms, after: warmup}
        targets:
          ops: {metric: "sleeper.ops{scenario:load}", critical: count == 1}
        """, tmp_path, only=("load",))
    s = scenarios(outcome)
    assert s["warmup"]["status"] == "skipped" and s["load"]["status"] == "completed"
    assert s["load"]["started"] - outcome.result.run["started"] < 0.5
    assert outcome.exit_code == 0


def test_a_crashing_scenario_stalls_no_other(tmp_path) -> None:
    outcome = run("""
        scenarios:
          broken: {driver: sleeper, crash: true}
          fine: {driver: sleeper, seconds: 600ms}
          later: {driver: sleeper, seconds: 100ms, after: broken, start_time: 100ms}
        targets:
          fine-ops: {metric: "sleeper.ops{scenario:fine}", critical: count == 1}
          later-ops: {metric: "sleeper.ops{scenario:later}", critical: count == 1}
        """, tmp_path)
    s = scenarios(outcome)
    assert s["broken"]["status"] == "failed"
    assert "crashed on purpose" in s["broken"]["error"]
    assert (s["fine"]["status"], s["later"]["status"]) == ("completed", "completed")
    assert s["fine"]["finished"] - s["fine"]["started"] == pytest.approx(0.6, abs=0.1)
    verdicts = {c.name: c.verdict.value for c in outcome.result.checks}
    assert verdicts == {"fine-ops": "pass", "later-ops": "pass"}
    assert outcome.exit_code == 3  # a failed scenario is a broken run


def test_a_slow_scenario_does_not_hold_up_the_others(tmp_path) -> None:
    finished: list[tuple[str, float]] = []

    class Watcher:
        @staticmethod
        @hookimpl
        def perfgate_scenario_finished(scenario: str) -> None:
            finished.append((scenario, time.time()))

    outcome = run_targets("""
        version: 1
        scenarios:
          slow: {driver: sleeper, seconds: 2s}
          quick: {driver: sleeper, seconds: 200ms}
        """, output_dir=tmp_path, plugins=(Plugin, Watcher))
    s = scenarios(outcome)
    assert [name for name, _ in finished] == ["quick", "slow"]
    assert finished[0][1] - s["quick"]["finished"] < 0.3  # reported as soon as it ended


def test_a_signal_stops_every_running_scenario_and_starts_no_other(tmp_path) -> None:
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        outcome = run("""
            scenarios:
              a: {driver: sleeper, seconds: 30s}
              b: {driver: sleeper, seconds: 30s, start_time: 100ms}
              c:
                driver: sleeper
                seconds: 1s
                start_time: 20s
                targets:
                  c-ops: {metric: sleeper.ops, critical: count == 1}
            targets:
              ops: {metric: sleeper.ops, critical: count == 2}
              c-selected: {metric: "sleeper.ops{scenario:c}", critical: count == 1}
            """, tmp_path)
    finally:
        timer.cancel()
    s = scenarios(outcome)
    assert (s["a"]["status"], s["b"]["status"]) == ("interrupted", "interrupted")
    assert (s["c"]["status"], s["c"]["error"], s["c"]["started"]) == (
        "interrupted", "not started", None)
    assert outcome.result.run["finished"] - outcome.result.run["started"] < 3
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["ops"].verdict.value == "pass"  # each stopped driver kept what it measured
    # c never started: like a scenario left out with --only, it was not run; its checks
    # are not failures of a metric never measured.
    for name in ("c-ops", "c-selected"):
        assert (checks[name].verdict.value, checks[name].message) == (
            "skip", "scenario 'c' was not run (run interrupted)")
    assert outcome.result.run["status"] == "interrupted"
    assert outcome.exit_code == 130


def test_collector_series_are_cut_to_scenario_windows(tmp_path) -> None:
    outcome = run("""
        scenarios:
          a: {driver: sleeper, seconds: 1200ms}
          b: {driver: sleeper, seconds: 600ms, start_time: 300ms}
        collectors:
          clock: {interval: 50ms}
        targets:
          during-b: {metric: "clock.t{scenario:b}", critical: value > 0}
          samples-b: {metric: "clock.samples{scenario:b}", critical: count > 0}
          whole: {metric: clock.samples, critical: count > 0}
        """, tmp_path)
    s = scenarios(outcome)
    result = outcome.result
    cut = result.metric("clock.t", scenario="b")
    assert cut is not None and cut["window"] == {
        "start": s["b"]["started"], "end": s["b"]["finished"], "scenario": "b"}
    # Ground truth: every sample in the cut was taken inside b's window, none outside it.
    assert s["b"]["started"] <= cut["values"]["min"] <= cut["values"]["max"] <= \
        s["b"]["finished"]
    whole = result.metric("clock.t")
    assert whole["data"]["samples"] > cut["data"]["samples"] >= 8  # 600 ms / 50 ms, less slack
    assert whole["values"]["min"] < s["b"]["started"] < s["b"]["finished"] < \
        whole["values"]["max"]
    checks = {c.name: c for c in result.checks}
    assert checks["samples-b"].measured == cut["data"]["samples"]
    assert checks["whole"].measured == whole["data"]["samples"]  # the cut is not added in
    rate = result.metric("clock.samples", scenario="b")["values"]["rate"]
    assert rate == pytest.approx(20.0, rel=0.25)  # per second of b's window: 1 / 50 ms
    assert outcome.exit_code == 0


def test_a_collector_during_a_scenario_samples_only_while_it_runs(tmp_path) -> None:
    outcome = run("""
        scenarios:
          rest: {driver: sleeper, seconds: 1500ms}
          load: {driver: sleeper, seconds: 500ms, start_time: 500ms}
        collectors:
          clock: {interval: 50ms, during: load}
        targets:
          in-load: {metric: "clock.t{scenario:load}", critical: value > 0}
        """, tmp_path)
    s = scenarios(outcome)
    whole = outcome.result.metric("clock.t")
    assert whole is not None
    assert whole["values"]["min"] >= s["load"]["started"]
    assert whole["values"]["max"] <= s["load"]["finished"] + 0.2  # the sample at stop()
    assert s["rest"]["finished"] - whole["values"]["max"] > 0.3  # stopped with its scenario
    cut = outcome.result.metric("clock.t", scenario="load")
    assert cut["data"]["samples"] == whole["data"]["samples"]
    assert outcome.exit_code == 0


def test_checks_on_a_collector_during_a_skipped_scenario_skip(tmp_path) -> None:
    outcome = run("""
        scenarios:
          rest: {driver: sleeper, seconds: 100ms}
          load: {driver: sleeper, seconds: 100ms}
        collectors:
          clock: {interval: 50ms, during: load}
        targets:
          clock: {metric: clock.t, critical: value > 0}
        """, tmp_path, only=("rest",))
    [check] = outcome.result.checks
    assert (check.verdict.value, check.message) == ("skip", "scenario 'load' was not run (--only)")
    assert outcome.result.metric("clock.t") is None
    assert outcome.exit_code == 0
