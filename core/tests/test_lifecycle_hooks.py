"""Lifecycle hooks: called in order, isolated from each other, only for plugins in use."""

from __future__ import annotations

import pytest

from perfgate import Collector, MetricSet, hookimpl
from perfgate.testing import run_targets

TARGETS = """
version: 1
collectors: {system: {interval: 0.1s}}
targets:
  cpu: {metric: system.cpu, critical: max <= 100%, on_missing: skip}
reporters: {json: {}}
"""


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def perfgate_run_started(self, context):
        self.calls.append("run_started")

    @hookimpl
    def perfgate_result_ready(self, result):
        self.calls.append("result_ready")
        result.details["recorder"] = {"seen": True}

    @hookimpl
    def perfgate_run_finished(self, result, exit_code):
        self.calls.append(f"run_finished:{exit_code}")


class Exploding:
    def __init__(self, hook: str) -> None:
        self.hook = hook

    def _boom(self) -> None:
        raise RuntimeError(f"{self.hook} exploded")

    @hookimpl
    def perfgate_run_started(self):
        if self.hook == "run_started":
            self._boom()

    @hookimpl
    def perfgate_result_ready(self):
        if self.hook == "result_ready":
            self._boom()

    @hookimpl
    def perfgate_run_finished(self):
        if self.hook == "run_finished":
            self._boom()


def test_hooks_are_called_in_order_and_may_enrich_the_result(tmp_path):
    recorder = Recorder()
    outcome = run_targets(TARGETS, output_dir=tmp_path, plugins=(recorder,))
    assert recorder.calls == ["run_started", "result_ready", "run_finished:0"]
    assert outcome.result.details["recorder"] == {"seen": True}


@pytest.mark.parametrize(("hook", "code"), [("run_started", 3), ("result_ready", 3),
                                            ("run_finished", 0)])
def test_a_raising_hook_is_recorded_and_does_not_stop_the_others(tmp_path, hook, code):
    recorder = Recorder()
    outcome = run_targets(TARGETS, output_dir=tmp_path, plugins=(Exploding(hook), recorder))
    assert outcome.exit_code == code
    assert "run_finished:" in recorder.calls[-1]
    assert (tmp_path / "result.json").exists()
    if hook != "run_finished":  # after the reports: printed, not in the result
        assert any(f"{hook} exploded" in e["message"] for e in outcome.result.errors)


class Unused(Collector):
    name = "unused-collector"

    def stop(self) -> MetricSet:
        return MetricSet()


class UnusedPlugin(Exploding):
    @hookimpl
    def perfgate_register_components(self, register):
        register(Unused)


def test_a_plugin_the_file_does_not_use_cannot_break_the_run(tmp_path):
    outcome = run_targets(TARGETS, output_dir=tmp_path,
                          plugins=(UnusedPlugin("run_started"),))
    assert outcome.exit_code == 0
    assert outcome.result.errors == []
