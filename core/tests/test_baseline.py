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
            validators: str = "", jitter: float = 0, operations: int = 200,
            seed: int = 0) -> str:
    return f"""
        version: 1
        scenarios:
          load: {{driver: synthetic, latency_ms: {latency}, operations: {operations},
                  failures: {failures}, jitter_ms: {jitter}, seed: {seed}}}
        targets:
          latency: {{metric: synthetic.latency, critical: p(95) < 1s, baseline: "{baseline}"}}
          errors: {{metric: synthetic.failed, baseline: "rate <= +0.01"}}
        {validators}
        reporters: {{json: {{}}}}
        """


def baseline_run(tmp_path: Path, latency: float = 50, failures: int = 8, **options) -> Path:
    out = tmp_path / "base"
    outcome = run_targets(targets(latency, failures, **options), output_dir=out)
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
    # confidence: 0 compares the values as measured: 12 failures of 200 against 8 is within
    # noise otherwise (below).
    base = baseline_run(tmp_path)
    outcome = run_targets(targets(latency, failures,
                                  validators="validators: {baseline: {confidence: 0}}"),
                          output_dir=tmp_path / "now", baseline=base)
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
def test_a_rate_change_within_its_binomial_noise_passes_and_says_so(tmp_path):
    base = baseline_run(tmp_path)  # 8 failures of 200: 4%
    outcome = run_targets(targets(50, 12), output_dir=tmp_path / "a", baseline=base)
    verdict, message = checks(outcome)["errors"]
    assert verdict is Verdict.PASS  # 6% of 200 against 4% of 200: chance explains it
    # Wilson intervals of 12 and 8 of 200; the limit from 4% is 5%, from 7.69% it is 8.69%.
    assert message == ("rate = 6.00% [3.47%, 10.19%], baseline 4.00% [2.04%, 7.69%] "
                       "(+50.0%); limit <= 5.00% (95% intervals): beyond the limit, within "
                       "noise → pass")
    outcome = run_targets(targets(50, 40), output_dir=tmp_path / "b", baseline=base)
    verdict, message = checks(outcome)["errors"]
    assert verdict is Verdict.FAIL  # 20% of 200: it does not
    assert message.endswith("→ fail")


def test_a_percentile_is_judged_with_its_order_statistics_interval(tmp_path):
    # Latencies spread evenly over 50-60 ms: p(95) is near 59.5 ms, and among 200 samples
    # its 95% interval spans ranks 184 to 197, about 59.2 to 59.9 ms.
    base = baseline_run(tmp_path, jitter=10, seed=1)
    expression = "p(95) <= +1%"
    near = run_targets(targets(51, 8, baseline=expression, jitter=10, seed=2),
                       output_dir=tmp_path / "near", baseline=base)
    check = next(c for c in near.result.checks if c.name == "latency vs baseline")
    assert check.measured > check.target.limit  # the value alone would fail...
    assert check.verdict is Verdict.PASS  # ...but the intervals overlap the limit
    assert "within noise" in check.message
    far = run_targets(targets(60, 8, baseline=expression, jitter=10, seed=2),
                      output_dir=tmp_path / "far", baseline=base)
    verdict, message = checks(far)["latency"]
    assert verdict is Verdict.FAIL
    low, high = (float(x.removesuffix("ms")) for x in
                 message.split("[", 1)[1].split("]", 1)[0].split(", "))
    assert 68.9 < low < 69.5 < high < 70.0


def test_too_few_samples_are_a_missing_baseline(tmp_path):
    base = baseline_run(tmp_path, operations=10)
    outcome = run_targets(targets(80, 0, operations=10), output_dir=tmp_path / "a",
                          baseline=base)
    verdict, message = checks(outcome)["latency"]
    assert verdict is Verdict.SKIP
    assert message == ("too few samples to compare: 10 in this run, at least 30 needed "
                       "(min_samples)")
    outcome = run_targets(targets(80, 0, operations=10, validators=(
        "validators: {baseline: {on_missing_baseline: fail}}")), output_dir=tmp_path / "b",
        baseline=base)
    assert checks(outcome)["latency"][0] is Verdict.FAIL
    assert outcome.exit_code == 1


def test_a_missing_baseline_can_fail_the_gate(tmp_path):
    outcome = run_targets(targets(50, validators="validators: {baseline: "
                                                 "{on_missing_baseline: warn}}"),
                          output_dir=tmp_path)
    assert {v for v, _ in checks(outcome).values()} == {Verdict.WARN}


def test_against_history_without_a_history_is_an_error_verdict(tmp_path):
    outcome = run_targets(targets(50, validators="validators: {baseline: "
                                                 "{against: history}}"),
                          output_dir=tmp_path)
    verdict, message = checks(outcome)["latency"]
    assert verdict is Verdict.ERROR
    assert "against: history needs a run history" in message


def test_a_history_without_a_plugin_that_keeps_one_is_said_in_the_notes(tmp_path):
    outcome = run_targets(targets(50).replace("version: 1", "version: 1\n        history: runs.db"),
                          output_dir=tmp_path)
    assert outcome.exit_code == 0
    assert any("no installed plugin keeps a run history" in n for n in outcome.result.notes)
    assert not (tmp_path / "runs.db").exists()
