"""Scenarios and components have names of their own: one never stands for another.

A scenario and a collector both keep their details under their names in the result
(``details.<name>``), so the two may not share a name: the file is wrong, said before anything
runs. Everything else is known by role and name (producers, recorded problems), so a
validator or reporter named like a scenario takes nothing from it.
"""

from __future__ import annotations

import pytest

from perfgate import ConfigError, Verdict
from perfgate.testing import run_targets

SAME_NAME = """\
version: 1
scenarios:
  same: {driver: synthetic, operations: 10}
collectors:
  same: {type: crashy}
targets:
  latency: {metric: synthetic.latency, critical: p(95) < 100ms}
"""


def test_a_collector_named_like_a_scenario_is_a_file_error(test_plugins, tmp_path):
    with pytest.raises(ConfigError) as caught:
        run_targets(SAME_NAME, output_dir=tmp_path)
    error = caught.value
    assert error.key == "collectors.same"
    assert error.location is not None and (error.location.line, error.location.column) == (5, 3)
    assert "has the name of a scenario" in error.message
    assert "details.same" in error.message
    assert not (tmp_path / "result.json").exists()


def test_a_broken_collector_is_known_by_role_and_name_as_its_metrics_producer(test_plugins,
                                                                             tmp_path):
    outcome = run_targets("""\
        version: 1
        scenarios:
          load: {driver: synthetic, operations: 10}
        collectors:
          probe: {type: crashy, fail_on: start}
        targets:
          value: {metric: crashy.value, critical: value > 0}
          latency: {metric: synthetic.latency, critical: p(95) < 100ms}
        reporters: {json: {}}
        """, output_dir=tmp_path)
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["value"].verdict is Verdict.ERROR
    assert checks["value"].message.startswith(
        "crashy.value was not measured because probe: ConnectionError: cannot reach")
    assert checks["latency"].verdict is Verdict.PASS


def test_a_reporter_and_a_validator_named_like_a_scenario_take_nothing_from_it(test_plugins,
                                                                             tmp_path):
    outcome = run_targets("""\
        version: 1
        scenarios:
          json: {driver: synthetic, operations: 10, duration: 0.05s}
          thresholds: {driver: synthetic, operations: 10}
        targets:
          latency: {metric: "synthetic.latency{scenario:json}", critical: p(95) < 100ms}
        reporters: {json: {}}
        """, output_dir=tmp_path)
    assert outcome.exit_code == 0
    assert {c.name: c.verdict for c in outcome.result.checks}["latency"] is Verdict.PASS
    # The driver's details stay its own, under the scenario's name.
    assert set(outcome.result.details["json"]) == {"cpu_seconds", "wall_seconds"}
    assert (tmp_path / "result.json").exists()
