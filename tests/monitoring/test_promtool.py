"""promtool and amtool accept monitoring/: the Prometheus config, the rules, their unit tests
(every alert firing and not firing), and Alertmanager's routes.

promtool 2.42 has no ``--junit``; each check is a test case of its own here, so the suite's
JUnit report (``pytest --junitxml``) has one case per file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from perfgate_prometheus.testing import find_binary, requires

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*_test.yml"))
ALERTMANAGER = MONITORING / "alertmanager" / "alertmanager.yml"

pytestmark = requires("promtool", "amtool")


def run(*args: str | Path, cwd: Path = PROMETHEUS) -> str:
    tool = find_binary(str(args[0]))
    assert tool is not None
    done = subprocess.run([tool, *map(str, args[1:])], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_prometheus_config_and_its_rule_files_are_valid():
    out = run("promtool", "check", "config", "prometheus.yml")
    assert f"SUCCESS: {len(RULES)} rule files found" in out


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.name)
def test_the_rules_pass_the_linter(rules):
    run("promtool", "check", "rules", "--lint-fatal", rules)


def test_every_rule_file_has_unit_tests():
    tested = {line.split("[", 1)[1].split("]", 1)[0].strip()
              for t in RULE_TESTS for line in t.read_text().splitlines()
              if line.startswith("rule_files:")}
    assert {f"../rules/{r.name}" for r in RULES} == tested


@pytest.mark.parametrize("tests", RULE_TESTS, ids=lambda p: p.name)
def test_the_rule_unit_tests_pass(tests):
    assert "SUCCESS" in run("promtool", "test", "rules", tests.relative_to(PROMETHEUS))


def test_every_alert_is_tested_firing_and_not_firing():
    import yaml
    alerts = {rule["alert"] for r in RULES for group in yaml.safe_load(r.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    assert len(alerts) == 12
    firing, quiet = set(), set()
    for t in RULE_TESTS:
        for test in yaml.safe_load(t.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    assert alerts == firing == quiet


def test_a_wrong_expectation_fails_the_unit_tests(tmp_path):
    # The unit tests can fail: a cache alert at 50 % instead of 70 % misses the 60 % case.
    rules = tmp_path / "sla.yml"
    rules.write_text((PROMETHEUS / "rules" / "sla.yml").read_text().replace("< 0.7", "< 0.5"))
    tests = tmp_path / "sla_test.yml"
    tests.write_text((PROMETHEUS / "tests" / "sla_test.yml").read_text()
                     .replace("../rules/sla.yml", str(rules)))
    done = subprocess.run([str(find_binary("promtool")), "test", "rules", str(tests)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "alertname: CacheHitRateLow" in done.stdout + done.stderr


def test_the_alertmanager_config_is_valid():
    run("amtool", "check-config", ALERTMANAGER, cwd=MONITORING)


@pytest.mark.parametrize(("labels", "receiver"), [
    (["severity=critical", "alertname=APIResponseTimeCritical"], "critical"),
    (["severity=critical", "alertname=PerfgateGateFailed"], "critical"),
    (["severity=warning", "alertname=CacheHitRateLow"], "warning"),
    (["alertname=SomethingElse"], "warning"),
])
def test_alerts_are_routed_by_severity(labels, receiver):
    out = run("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels,
              cwd=MONITORING)
    assert out.splitlines()[0].strip() == receiver
