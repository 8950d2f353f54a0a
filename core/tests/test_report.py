"""What every report derives the same way: the headline and the labels of checks."""

from __future__ import annotations

import pytest

from perfgate import Check, ResultDocument, Verdict, check_labels, headline


def check(name: str, group: str = "targets", scenario: str | None = None) -> Check:
    return Check(name=name, metric="m", verdict=Verdict.PASS, group=group, scenario=scenario)


def test_labels_tell_same_name_scenario_targets_apart():
    checks = [check("latency", "ramp", "ramp"), check("latency", "open", "open"),
              check("latency", "targets", "ramp"),  # a top-level target on {scenario:ramp}
              check("load.driver-health", "load", "load"),  # a built-in, named by its owner
              check("latency vs baseline", "baseline", "ramp"),
              check("latency vs baseline", "baseline", "open"),
              check("cpu")]
    assert check_labels(checks) == [
        "ramp/latency", "open/latency", "latency", "load.driver-health",
        "ramp/latency vs baseline", "open/latency vs baseline", "cpu"]


@pytest.mark.parametrize(("status", "code", "verdict", "text"), [
    ("completed", 0, "pass", "perfgate: PASS"),
    ("completed", 0, "warn", "perfgate: WARN"),
    ("completed", 1, "fail", "perfgate: FAIL"),
    ("completed", 1, "warn", "perfgate: FAIL (exit 1) — checks: warn"),  # --fail-on warn
    ("completed", 3, "pass", "perfgate: BROKEN (exit 3) — checks: pass"),  # a reporter broke
    ("broken", 3, "error", "perfgate: BROKEN (exit 3) — checks: error"),
    ("interrupted", 130, "pass", "perfgate: INTERRUPTED (exit 130) — checks: pass"),
])
def test_the_headline_never_contradicts_the_exit_code(status, code, verdict, text):
    doc = ResultDocument(run={"status": status}, verdict=verdict, exit_code=code)
    assert headline(doc).text() == text
