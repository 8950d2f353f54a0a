"""The run: collectors used twice, scenario tags and windows, details."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationInfo, field_validator

from perfgate import (
    Check,
    DriverScenario,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    Validator,
    Verdict,
    hookimpl,
)
from perfgate.result import validate_result
from perfgate.testing import run_targets


@pytest.mark.usefixtures("test_plugins")
def test_a_collector_used_under_two_keys_tags_its_metrics(tmp_path):
    outcome = run_targets("""
        version: 1
        collectors:
          primary: {type: crashy, value: 1}
          replica: {type: crashy, value: 2}
        targets:
          primary: {metric: "crashy.value{instance:primary}", critical: value == 1}
          replica: {metric: "crashy.value{instance:replica}", critical: value == 2}
        """, output_dir=tmp_path)
    assert outcome.exit_code == 0, [c.message for c in outcome.result.checks]
    assert {tuple(sorted(m["tags"].items())) for m in outcome.result.metrics} == {
        (("instance", "primary"),), (("instance", "replica"),)}


@pytest.mark.usefixtures("test_plugins")
def test_scenario_metrics_carry_the_scenario_tag_and_window(tmp_path):
    outcome = run_targets("""
        version: 1
        scenarios:
          first: {driver: synthetic, latency_ms: 5, operations: 10}
          second: {driver: synthetic, latency_ms: 7, operations: 20}
        targets:
          total: {metric: synthetic.ops, critical: count == 30}
          second: {metric: "synthetic.ops{scenario:second}", critical: count == 20}
          avg: {metric: synthetic.latency, critical: avg < 6.4ms, target: avg > 6.3ms}
        """, output_dir=tmp_path)
    validate_result(outcome.result.to_dict())
    verdicts = {c.name: c.verdict.value for c in outcome.result.checks}
    # (10 * 5 + 20 * 7) / 30 = 6.333...: the merged average is exact.
    assert verdicts == {"total": "pass", "second": "pass", "avg": "pass"}
    scenario_tags = {m["tags"]["scenario"] for m in outcome.result.metrics}
    assert scenario_tags == {"first", "second"}
    assert [s["status"] for s in outcome.result.scenarios] == ["completed", "completed"]
    assert all(m["window"]["start"] is not None for m in outcome.result.metrics)


class PartialScenario(DriverScenario):
    script: str = "load.js"

    @field_validator("script")
    @classmethod
    def _resolve(cls, value: str, info: ValidationInfo) -> str:
        folder = (info.context or {}).get("targets_folder")
        return str(Path(folder) / value) if folder else value


class PartialError(RuntimeError):
    def __init__(self, message: str, metrics: MetricSet) -> None:
        super().__init__(message)
        self.metrics = metrics


class PartialDriver(LoadDriver[PartialScenario]):
    name = "partial"
    validators = ("scripted",)

    @classmethod
    def produces(cls, config: PartialScenario) -> list[MetricInfo]:
        return [MetricInfo("partial.ops", Kind.COUNTER, "")]

    def run(self) -> MetricSet:
        scenario = self.config
        metrics = MetricSet()
        metrics.counter("partial.ops").add(7)
        self.details_seen = scenario.script
        raise PartialError("broke after 7 operations", metrics)

    def details(self) -> dict:
        return {"script": self.details_seen}


class ScriptedValidator(Validator):
    name = "scripted"

    def validate(self, targets, metrics, result) -> list[Check]:
        return [Check(name="scripted", metric="partial.ops", verdict=Verdict.PASS,
                      source="scripted")]


class PartialPlugin:
    @hookimpl
    def perfgate_register_components(self, register):
        register(PartialDriver)
        register(ScriptedValidator)


def test_driver_validators_run_config_sees_the_folder_and_partial_metrics_are_kept(tmp_path):
    outcome = run_targets("""
        version: 1
        scenarios:
          s: {driver: partial, script: k6/test.js}
        targets:
          ops: {metric: partial.ops, critical: count == 7}
        """, output_dir=tmp_path, plugins=(PartialPlugin(),))
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["scripted"].verdict is Verdict.PASS  # the driver's validator ran unasked
    assert checks["ops"].verdict is Verdict.PASS  # measured before the driver broke
    assert outcome.exit_code == 3  # still a broken run: the scenario failed
    assert outcome.result.details["s"]["script"] == str(tmp_path.resolve() / "k6/test.js")


@pytest.mark.usefixtures("test_plugins")
def test_built_in_checks_of_a_collector_used_twice_judge_only_their_own_instance(tmp_path):
    outcome = run_targets("""
        version: 1
        collectors:
          crashy: {value: 3, builtin_check: true}
          down: {type: crashy, fail_on: start, builtin_check: true}
        targets:
          both: {metric: crashy.value, critical: value > 0}
        """, output_dir=tmp_path)
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["crashy.positive"].verdict is Verdict.PASS
    assert checks["crashy.positive"].metric == "crashy.value{instance:crashy}"
    assert checks["crashy.positive"].measured == 3
    # The instance that never started is an error, not judged on the other one's numbers.
    assert checks["down.positive"].verdict is Verdict.ERROR
    assert "because down: ConnectionError: cannot reach" in checks["down.positive"].message
    # A target over every instance is judged on what was measured.
    assert checks["both"].verdict is Verdict.PASS
    assert outcome.exit_code == 3
