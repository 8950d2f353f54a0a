"""The baseline validator: regressions against an earlier result, with known numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfgate import ConfigError
from perfgate.result import Verdict
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("test_plugins")


def targets(latency: float, failures: int = 0, baseline: str = "p(95) <= +10%",
            validators: str = "") -> str:
    return f"""
        version: 1
        scenarios:
          load: {{driver: synthetic, latency_ms: {latency}, operations: 200,
                  failures: {failures}}}
        targets:
          latency: {{metric: synthetic.latency, critical: p(95) < 1s, baseline: "{baseline}"}}
          errors: {{metric: synthetic.failed, baseline: "rate <= +0.01"}}
        {validators}
        reporters: {{json: {{}}}}
        """


def baseline_run(tmp_path: Path, latency: float = 50, failures: int = 8) -> Path:
    out = tmp_path / "base"
    outcome = run_targets(targets(latency, failures), output_dir=out)
    assert outcome.exit_code == 0
    return out / "result.json"


def checks(outcome) -> dict[str, tuple[Verdict, str]]:
    found = {c.name: (c.verdict, c.message) for c in outcome.result.checks
             if c.group == "baseline"}
    assert all(name.endswith(" vs baseline") for name in found)
    return {name.removesuffix(" vs baseline"): value for name, value in found.items()}


def test_without_a_baseline_the_checks_skip(tmp_path):
    outcome = run_targets(targets(50), output_dir=tmp_path)
    assert outcome.exit_code == 0
    assert {v for v, _ in checks(outcome).values()} == {Verdict.SKIP}
    assert "no baseline result given" in checks(outcome)["latency"][1]


@pytest.mark.parametrize(("latency", "failures", "expected"), [
    (54, 8, {"latency": Verdict.PASS, "errors": Verdict.PASS}),    # +8%, 4% = 4%
    (55, 10, {"latency": Verdict.PASS, "errors": Verdict.PASS}),   # +10% and +1 point: limits
    (60, 8, {"latency": Verdict.FAIL, "errors": Verdict.PASS}),    # +20%
    (50, 12, {"latency": Verdict.PASS, "errors": Verdict.FAIL}),   # 6% > 4% + 1 point
])
def test_relative_limits_against_known_numbers(tmp_path, latency, failures, expected):
    base = baseline_run(tmp_path)
    outcome = run_targets(targets(latency, failures), output_dir=tmp_path / "now",
                          baseline=base)
    assert {name: v for name, (v, _) in checks(outcome).items()} == expected
    assert outcome.exit_code == (1 if Verdict.FAIL in expected.values() else 0)
    latency_check = next(c for c in outcome.result.checks
                         if c.group == "baseline" and c.name == "latency vs baseline")
    assert latency_check.measured == pytest.approx(latency, rel=1e-3)
    assert latency_check.target.limit == pytest.approx(55, rel=1e-3)  # 50 ms + 10%
    assert latency_check.unit == "ms"


def test_absolute_delta_in_a_unit(tmp_path):
    base = baseline_run(tmp_path)
    outcome = run_targets(targets(54, baseline="avg <= +5ms"), output_dir=tmp_path / "a",
                          baseline=base)
    assert checks(outcome)["latency"][0] is Verdict.PASS
    outcome = run_targets(targets(56, baseline="avg <= +5ms"), output_dir=tmp_path / "b",
                          baseline=base)
    verdict, message = checks(outcome)["latency"]
    assert verdict is Verdict.FAIL
    assert message == ("avg = 56.00ms, baseline 50.00ms (+12.0%); limit <= 55.00ms → fail")


def test_regressions_can_warn_and_the_file_option_is_relative_to_the_targets(tmp_path):
    base = baseline_run(tmp_path)
    (tmp_path / "now").mkdir()
    (tmp_path / "now" / "previous.json").write_text(base.read_text())
    outcome = run_targets(
        targets(60, validators="validators: {baseline: {file: previous.json, "
                               "on_regression: warn}}"),
        output_dir=tmp_path / "now")
    assert checks(outcome)["latency"][0] is Verdict.WARN
    assert outcome.exit_code == 0


def test_an_unreadable_baseline_is_refused_before_the_run(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=f"cannot read the baseline {bad}: it is not JSON"):
        run_targets(targets(50), output_dir=tmp_path / "now", baseline=bad)
    assert not (tmp_path / "now" / "result.json").exists()


def test_a_metric_missing_from_the_baseline_skips(tmp_path):
    base = baseline_run(tmp_path)
    doc = json.loads(base.read_text())
    doc["metrics"] = [m for m in doc["metrics"] if m["name"] != "synthetic.failed"]
    base.write_text(json.dumps(doc))
    outcome = run_targets(targets(50), output_dir=tmp_path / "now", baseline=base)
    assert checks(outcome)["errors"][0] is Verdict.SKIP
    assert "not in the baseline" in checks(outcome)["errors"][1]
    assert checks(outcome)["latency"][0] is Verdict.PASS


def test_each_scenario_is_compared_with_its_own_numbers(tmp_path):
    def two_scenarios(a: float, b: float) -> str:
        target = '{metric: synthetic.latency, critical: p(95) < 1s, baseline: "p(95) <= +10%"}'
        return f"""
            version: 1
            scenarios:
              a: {{driver: synthetic, latency_ms: {a}, operations: 50,
                   targets: {{latency: {target}}}}}
              b: {{driver: synthetic, latency_ms: {b}, operations: 50,
                   targets: {{latency: {target}}}}}
            reporters: {{json: {{}}}}
            """

    run_targets(two_scenarios(50, 100), output_dir=tmp_path / "base")
    outcome = run_targets(two_scenarios(50, 120), output_dir=tmp_path / "now",
                          baseline=tmp_path / "base" / "result.json")
    found = {(c.group, c.name): c for c in outcome.result.checks}
    a, b = found[("a", "latency vs baseline")], found[("b", "latency vs baseline")]
    assert (a.verdict, a.scenario) == (Verdict.PASS, "a")
    assert a.message.startswith("p(95) = 50.00ms, baseline 50.00ms (+0.0%)")
    assert (b.verdict, b.scenario) == (Verdict.FAIL, "b")  # +20% against its own 100 ms
    assert b.message.startswith("p(95) = 120.00ms, baseline 100.00ms (+20.0%)")
