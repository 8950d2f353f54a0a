"""k6's exit codes become the right verdicts, run errors and perfgate exit codes."""

from __future__ import annotations

import pytest

from perfgate import MetricSet, RunError, Verdict
from perfgate.testing import run_context
from perfgate_k6_driver import K6Driver, K6Scenario

#: A target on this scenario's requests: an error verdict when k6 broke before measuring.
LATENCY = {"latency": {"metric": "http.req_duration{scenario:s}", "target": "p(95) < 1000ms"}}


def k6_checks(outcome):
    return {c.name: c for c in outcome.result.checks if c.source == "k6"}


def failing(outcome):
    return sorted(c.name for c in outcome.result.checks if c.verdict is Verdict.FAIL)


# Not listed, the k6 validator comes with the driver; listed as well, it runs once all the same.
@pytest.mark.parametrize("validators", [None, {"thresholds": {}, "k6": {}}],
                         ids=["driver-brings-k6", "file-lists-k6"])
def test_crossed_threshold_is_a_failed_check_not_a_run_error(run_k6, script, validators):
    path = script("""
        import http from 'k6/http';
        export const options = {
          thresholds: {
            'http_req_duration{name:slow}': ['p(95)<5'],
            http_req_failed: ['rate<0.5'],
          },
        };
        export default function () {
          http.get(`${__ENV.BASE_URL}/delay/20`, { tags: { name: 'slow' } });
        }
    """)
    outcome = run_k6({"script": str(path), "iterations": 10, "vus": 2}, targets=LATENCY,
                     validators=validators)
    assert outcome.exit_code == 1  # the gate failed; the run did not break
    assert outcome.result.errors == []
    checks = k6_checks(outcome)
    crossed = checks["s.k6 http_req_duration{name:slow}: p(95)<5"]
    assert crossed.verdict is Verdict.FAIL
    assert crossed.metric == "http.req_duration{name:slow,scenario:s}"
    assert crossed.aggregation == "p(95)" and crossed.unit == "ms"
    assert crossed.measured >= 19 and crossed.critical.limit == 5
    assert crossed.critical.passed is False
    assert checks["s.k6 http_req_failed: rate<0.5"].verdict is Verdict.PASS
    assert {c.name: c.verdict for c in outcome.result.checks}["latency"] is Verdict.PASS
    assert outcome.result.details["s"]["k6"]["exit_code"] == 99
    # The crossed threshold counts once: one failed check, each check once, no other
    # verdict on k6's thresholds.
    assert failing(outcome) == ["s.k6 http_req_duration{name:slow}: p(95)<5"]
    names = [c.name for c in outcome.result.checks]
    assert sorted(names) == sorted(set(names)) == [
        "latency", "s.k6 http_req_duration{name:slow}: p(95)<5",
        "s.k6 http_req_failed: rate<0.5"]
    assert not [m for m in outcome.result.metrics if m["name"].startswith("k6.")]


def test_syntax_error_is_a_run_error_with_k6s_message(run_k6, script):
    path = script("""
        import http from 'k6/http';
        export default function ( {
          http.get(`${__ENV.BASE_URL}/health`);
    """)
    outcome = run_k6({"script": str(path), "iterations": 1}, targets=LATENCY)
    assert outcome.exit_code == 3
    [error] = outcome.result.errors
    assert error["component"] == "s" and error["role"] == "load_driver"
    assert "k6 exited with code 107" in error["message"]
    assert "Unexpected" in error["message"] and "script.js" in error["message"]
    check = {c.name: c for c in outcome.result.checks}["latency"]
    assert check.verdict is Verdict.ERROR and "code 107" in check.message
    assert outcome.result.scenarios[0]["status"] == "failed"


def test_invalid_configuration_is_a_run_error(run_k6, script):
    path = script("""
        export const options = { scenarios: { main: { executor: 'constant-vus', vus: -2,
                                                      duration: '1s' } } };
        export default function () {}
    """)
    outcome = run_k6({"script": str(path)}, targets=LATENCY)
    assert outcome.exit_code == 3
    message = outcome.result.errors[0]["message"]
    assert message.startswith("k6 exited with code 104 (invalid configuration): ")
    assert "scenario main has configuration errors" in message and "\n" not in message


def test_k6_command_line_errors_are_quoted(run_k6, script):
    path = script("export default function () {}")
    outcome = run_k6({"script": str(path), "k6_args": ["--no-such-flag"]}, targets=LATENCY)
    assert outcome.exit_code == 3
    assert outcome.result.errors[0]["message"] == (
        "k6 exited with code 255 (k6 could not start the test (command line or environment)): "
        "unknown flag: --no-such-flag")


def test_exception_in_setup_is_a_run_error(run_k6, script):
    path = script("""
        export function setup() { throw new Error('the database is not seeded'); }
        export default function () {}
    """)
    outcome = run_k6({"script": str(path), "iterations": 1}, targets=LATENCY)
    assert outcome.exit_code == 3
    message = outcome.result.errors[0]["message"]
    assert "code 107 (the script threw an exception)" in message
    assert "the database is not seeded" in message
    assert {c.name: c for c in outcome.result.checks}["latency"].verdict is Verdict.ERROR


def test_exception_in_iterations_is_recorded_and_measured_requests_count(run_k6, script):
    path = script("""
        import http from 'k6/http';
        export default function () {
          http.get(`${__ENV.BASE_URL}/health`);
          throw new Error('cannot parse the page');
        }
    """)
    outcome = run_k6({"script": str(path), "iterations": 4, "vus": 1}, targets=LATENCY)
    # k6 itself goes on (exit 0): the requests were made and are judged; a note says what
    # the script did.
    assert outcome.exit_code == 0 and outcome.result.errors == []
    [note] = outcome.result.notes
    assert "s: the k6 script threw in 4 iteration(s)" in note
    assert "cannot parse the page" in note
    assert outcome.result.details["s"]["k6"]["script_errors"] == 4


def test_script_abort_is_a_run_error(run_k6, script):
    path = script("""
        import exec from 'k6/execution';
        export default function () { exec.test.abort('stock service is down'); }
    """)
    outcome = run_k6({"script": str(path), "iterations": 1}, targets=LATENCY)
    assert outcome.exit_code == 3
    message = outcome.result.errors[0]["message"]
    assert "code 108" in message and "stock service is down" in message


def test_what_k6_measured_before_an_abort_is_kept(run_k6, script, server):
    path = script("""
        import http from 'k6/http';
        import exec from 'k6/execution';
        export const options = { thresholds: { http_req_failed: ['rate<0.5'] } };
        export default function () {
          http.get(`${__ENV.BASE_URL}/delay/5`, { tags: { name: 'delay' } });
          if (exec.scenario.iterationInTest === 2) exec.test.abort('stock service is down');
        }
    """)
    server.reset()
    outcome = run_k6({"script": str(path), "iterations": 10, "vus": 1}, targets={
        **LATENCY, "requests": {"metric": "http.reqs{scenario:s}", "critical": "count == 3"}})
    assert outcome.exit_code == 3  # still a broken run
    [error] = outcome.result.errors
    assert "code 108" in error["message"] and "stock service is down" in error["message"]
    assert outcome.result.scenarios[0]["status"] == "failed"
    # The three requests made before the abort are in the result and judged.
    assert server.counters()["total"] == 3
    metrics = MetricSet.from_list(outcome.result.metrics)
    assert metrics.combined("http.reqs", {"scenario": "s"}).aggregate("count") == 3
    assert metrics.combined("http.req_duration", {"name": "delay"}).count == 3
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["requests"].verdict is Verdict.PASS and checks["requests"].measured == 3
    assert checks["latency"].verdict is Verdict.PASS
    assert outcome.result.details["s"]["k6"]["exit_code"] == 108
    # k6 still wrote its summary: its verdict on the threshold is a check as well.
    assert checks["s.k6 http_req_failed: rate<0.5"].verdict is Verdict.PASS


def test_test_fail_is_a_failed_check(run_k6, script):
    path = script("""
        import http from 'k6/http';
        import exec from 'k6/execution';
        export default function () {
          http.get(`${__ENV.BASE_URL}/health`);
          exec.test.fail('the checkout flow never completed');
        }
    """)
    outcome = run_k6({"script": str(path), "iterations": 1}, targets=LATENCY)
    assert outcome.exit_code == 1
    assert k6_checks(outcome)["s.k6 test.fail()"].verdict is Verdict.FAIL
    assert failing(outcome) == ["s.k6 test.fail()"]


def test_a_script_gone_at_run_time_and_a_bad_k6_path_are_run_errors(run_k6, script,
                                                                    tmp_path):
    # Loaded without the targets file's folder (no loader), the script is looked up when
    # the scenario runs: missing then, it is a run error.
    cfg = K6Scenario.model_validate({"driver": "k6", "script": "nowhere.js", "iterations": 1})
    context = run_context(targets_path=tmp_path / "targets.yml", output_dir=tmp_path)
    with pytest.raises(RunError, match=r"k6 script 'nowhere\.js' not found"):
        K6Driver(cfg, context, "s").run()
    path = script("export default function () {}")
    outcome = run_k6({"script": str(path), "iterations": 1, "k6_path": "/nonexistent/k6"})
    assert outcome.exit_code == 3
    assert "k6_path '/nonexistent/k6' is not an executable" in outcome.result.errors[0]["message"]
