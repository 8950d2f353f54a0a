"""The run: collectors used twice, scenario tags and windows, details."""

from __future__ import annotations

import pytest

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
