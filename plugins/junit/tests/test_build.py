"""The JUnit XML validates against the xunit plugin's schema and reads back in junitparser."""

from __future__ import annotations

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from perfgate import Check, ResultDocument, Verdict
from perfgate_junit import render
from perfgate_junit._xml import clean


def read(text: str) -> JUnitXml:
    """Parse as a CI server does: the bytes of the file."""
    return JUnitXml.fromstring(text.encode("utf-8"))


def cases(xml: JUnitXml) -> dict[str, object]:
    return {case.name: case for suite in xml for case in suite}


def result_kinds(case) -> list[type]:
    return [type(r) for r in case.result]


def properties(suite) -> list[tuple[str, str]]:
    return [(p.name, p.value) for p in suite.properties()]


@pytest.mark.parametrize("group_by", ["run", "scenario"])
@pytest.mark.parametrize("status", ["completed", "broken", "interrupted"])
def test_validates_against_the_schema(every_verdict, assert_valid, group_by, status):
    assert_valid(render(every_verdict(status=status), group_by=group_by))


def test_one_suite_one_case_per_check(every_verdict, assert_valid):
    text = render(every_verdict())
    assert_valid(text)
    xml = read(text)
    [suite] = list(xml)
    assert suite.name == "perfgate"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 1, 1, 1)
    assert (xml.tests, xml.failures, xml.errors) == (5, 1, 1)
    assert suite.time == 12.5 and suite.timestamp == "2023-11-14T22:13:20"
    assert suite.hostname == "ci-runner-7"
    found = cases(xml)
    assert [(c.classname, c.name) for c in found.values()] == [
        ("targets", "api-latency"), ("targets", "error-rate"), ("targets", "throughput"),
        ("database", "db-latency"), ("targets", "frontend-load")]
    assert result_kinds(found["api-latency"]) == []
    assert result_kinds(found["error-rate"]) == []
    assert result_kinds(found["throughput"]) == [Failure]
    assert result_kinds(found["db-latency"]) == [Error]
    assert result_kinds(found["frontend-load"]) == [Skipped]
    # A check takes no time of its own: the cases add up to no more than the suite
    # (12.5 s), not to its checks times their scenario's 10 s. The timestamp says when
    # what a check judged was measured: its scenario's start, or the run's.
    assert [c.time for c in found.values()] == [0.0] * 5
    assert sum(c.time for c in found.values()) <= suite.time
    assert found["api-latency"]._elem.get("timestamp") == "2023-11-14T22:13:21"
    assert found["db-latency"]._elem.get("timestamp") == "2023-11-14T22:13:20"


def test_failure_and_error_state_measured_value_threshold_and_verdict(every_verdict):
    found = cases(read(render(every_verdict())))
    [failure] = found["throughput"].result
    # This check came without a message: the facts make one.
    assert failure.type == "fail"
    assert failure.message == ("FAIL: metric: http.reqs{scenario:load}; measured: rate = 15/s; "
                               "target: rate > 500 (limit 500/s) missed; critical: rate > 100 "
                               "(limit 100/s) missed")
    assert failure.text.splitlines() == [
        "check: throughput", "metric: http.reqs{scenario:load}", "measured: rate = 15/s",
        "target: rate > 500 (limit 500/s) missed", "critical: rate > 100 (limit 100/s) missed",
        "verdict: fail", "description: requests per second", "source: thresholds"]
    [error] = found["db-latency"].result
    assert error.type == "error"
    assert error.message == ("ERROR: postgres.query_duration was not measured because "
                             "postgres: connection refused")
    assert "target: p(95) < 100ms not evaluated" in error.text
    [skipped] = found["frontend-load"].result
    assert skipped.message == "scenario 'frontend' was not run (--only)"


def test_warn_is_visible_but_passes(every_verdict):
    xml = read(render(every_verdict()))
    warn = cases(xml)["error-rate"]
    assert warn.is_passed
    assert warn.system_out.startswith("WARNING: target missed\ncheck: error-rate\n")
    assert "measured: rate = 3.33%" in warn.system_out
    [suite] = list(xml)
    assert ("perfgate.warning", "error-rate: rate = 3.33%; target rate < 1% missed; "
                                "critical rate < 20% met → warn") in properties(suite)
    assert cases(xml)["api-latency"].system_out.splitlines()[0] == "check: api-latency"


@pytest.mark.parametrize("option, fail_on", [(True, "fail"), (False, "warn")])
def test_warn_fails_when_warnings_fail_the_gate(every_verdict, assert_valid, option, fail_on):
    text = render(every_verdict(fail_on=fail_on), fail_on_warn=option)
    assert_valid(text)
    xml = read(text)
    [failure] = cases(xml)["error-rate"].result
    assert isinstance(failure, Failure) and failure.type == "warn"
    assert failure.message.startswith("WARN: rate = 3.33%; target rate < 1% missed")
    assert xml.failures == 2


def test_group_by_scenario(every_verdict, assert_valid):
    text = render(every_verdict(), group_by="scenario")
    assert_valid(text)
    xml = read(text)
    suites = {s.name: s for s in xml}
    assert list(suites) == ["perfgate", "load", "frontend"]
    assert [c.name for c in suites["perfgate"]] == ["db-latency"]
    assert [c.name for c in suites["load"]] == ["api-latency", "error-rate", "throughput"]
    assert [c.name for c in suites["frontend"]] == ["frontend-load"]
    assert (suites["load"].time, suites["load"].timestamp) == (10.0, "2023-11-14T22:13:21")
    assert (suites["load"].tests, suites["load"].failures) == (3, 1)
    assert suites["frontend"].skipped == 1
    assert (xml.tests, xml.failures, xml.errors) == (5, 1, 1)
    assert ("perfgate.scenario", "load") in properties(suites["load"])
    assert ("perfgate.targets_sha256", "cd" * 32) in properties(suites["perfgate"])


def test_run_properties_notes_and_problems(every_verdict, assert_valid):
    text = render(every_verdict())
    doc = assert_valid(text)
    props = dict(properties(next(iter(read(text)))))
    assert props["perfgate.run_id"] == "run-42"
    assert props["perfgate.exit_code"] == "3"
    assert props["perfgate.plugin.junit"] == "perfgate-junit 0.1.0"
    suite = doc.find("testsuite")
    assert suite.findtext("system-out") == "note: load generator CPU above 90%"
    assert suite.findtext("system-err") == "collector postgres (start): connection refused"


@pytest.mark.parametrize("status, expected", [
    ("broken", "the run broke (exit code 3)"),
    ("interrupted", "the run was interrupted (exit code 3)"),
])
def test_a_run_that_did_not_complete_is_an_error(every_verdict, status, expected):
    result = every_verdict(status=status)
    result.scenarios[0].update(status="failed", error="driver crashed")
    run = cases(read(render(result)))["run"]
    [error] = run.result
    assert (run.classname, error.type, error.message) == ("perfgate", status, expected)
    assert error.text.splitlines()[1:] == ["scenario load failed: driver crashed",
                                           "collector postgres (start): connection refused"]


def test_a_completed_run_has_no_run_case(every_verdict):
    assert "run" not in cases(read(render(every_verdict())))


@pytest.mark.parametrize("verdicts, fail_on, exit_code, kind, message", [
    # a reporter failed after every check passed: exit 3, the status still "completed"
    (["pass"], "fail", 3, "broken", "the run broke (exit code 3)"),
    (["pass", "warn"], "fail", 3, "broken", "the run broke (exit code 3)"),
    # a failing check gives 1, not 3: the 3 still needs its own red case
    (["pass", "fail"], "fail", 3, "broken", "the run broke (exit code 3)"),
    (["pass", "warn"], "fail", 1, "error", "perfgate exited with code 1, which no check "
                                           "explains"),
])
def test_an_exit_code_no_check_explains_is_a_run_error(verdicts, fail_on, exit_code, kind,
                                                       message, assert_valid):
    result = ResultDocument(run={"status": "completed", "fail_on": fail_on},
                            checks=[Check(f"c{i}", "m", Verdict(v))
                                    for i, v in enumerate(verdicts)],
                            errors=[{"component": "html", "role": "reporter", "phase": "report",
                                     "message": "disk full"}])
    result.summarise()
    result.exit_code = exit_code
    text = render(result)
    assert_valid(text)
    xml = read(text)
    [error] = cases(xml)["run"].result
    assert (type(error), error.type, error.message) == (Error, kind, message)
    assert error.text.splitlines()[1:] == ["reporter html (report): disk full"]
    assert xml.errors >= 1


def test_a_red_check_that_explains_the_exit_code_needs_no_run_case():
    for verdicts, fail_on, exit_code in ((["pass", "fail"], "fail", 1),
                                         (["pass", "warn"], "warn", 1),
                                         (["pass", "error"], "fail", 3)):
        result = ResultDocument(run={"status": "completed", "fail_on": fail_on},
                                checks=[Check(f"c{i}", "m", Verdict(v))
                                        for i, v in enumerate(verdicts)])
        result.summarise()
        result.exit_code = exit_code
        xml = read(render(result))
        assert "run" not in cases(xml)
        assert xml.failures + xml.errors == 1


@pytest.mark.parametrize("verdicts, status, fail_on, exit_code", [
    (["pass"], "completed", "fail", 0),
    (["pass", "warn"], "completed", "fail", 0),
    (["pass", "warn"], "completed", "warn", 1),
    (["pass", "fail"], "completed", "fail", 1),
    (["skip"], "completed", "fail", 0),
    (["pass", "error"], "broken", "fail", 3),
    (["pass"], "interrupted", "fail", 130),
    (["pass"], "completed", "fail", 3),  # a reporter broke after the checks passed
    (["pass", "warn"], "completed", "fail", 3),
])
def test_ci_goes_red_exactly_when_perfgate_fails(verdicts, status, fail_on, exit_code):
    result = ResultDocument(run={"status": status, "fail_on": fail_on},
                            checks=[Check(f"c{i}", "m", Verdict(v))
                                    for i, v in enumerate(verdicts)])
    result.summarise()
    result.exit_code = exit_code
    xml = read(render(result))
    assert (xml.failures + xml.errors > 0) == (exit_code != 0)


HOSTILE = ("a]]>b <c> & \"d\" 'e' \x00\x01\x08\x0b\x0c\x0e\x1f\x7f\x85\x9f \ud800 \ufffe "
           "\uffff tab\tnew\nline\rret <![CDATA[x]]> &amp; 😀")


def test_hostile_text_is_escaped_and_forbidden_characters_removed(every_verdict, assert_valid):
    result = every_verdict()
    for check in result.checks:
        check.name = f"{check.name} {HOSTILE}"
        check.message = HOSTILE
        check.group = HOSTILE
    result.notes = [HOSTILE]
    result.errors[0]["message"] = HOSTILE
    result.environment["host"] = HOSTILE
    result.run["targets_file"] = HOSTILE
    for group_by in ("run", "scenario"):
        text = render(result, group_by=group_by)
        text.encode("utf-8")  # no lone surrogate left
        doc = assert_valid(text)
        assert doc.find("testsuite").get("hostname") == clean(HOSTILE)
        xml = read(text)
        found = cases(xml)
        expected = clean(HOSTILE)
        assert f"throughput {expected}" in found
        case = found[f"throughput {expected}"]
        assert case.classname == expected
        assert case.result[0].message == f"FAIL: {expected}"
        assert f"message: {expected}" in case.result[0].text
    for bad in "\x00\x01\x0b\x7f\x85\ud800\ufffe\uffff":
        assert bad not in clean(HOSTILE)
    assert "\t" in clean(HOSTILE) and "😀" in clean(HOSTILE)
