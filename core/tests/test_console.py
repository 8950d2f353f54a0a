"""The console report: the headline follows the run, hostile names stay printable."""

from __future__ import annotations

from perfgate.builtin.console import render
from perfgate.metrics import MetricSet
from perfgate.result import Check, ResultDocument, Verdict


def result(status: str = "completed", exit_code: int = 0, name: str = "latency") -> ResultDocument:
    doc = ResultDocument(run={"status": status, "duration": 2.0}, exit_code=exit_code,
                         checks=[Check(name=name, metric="m", verdict=Verdict.PASS)])
    doc.summarise()
    return doc


def test_completed_run_headline_is_the_verdict():
    assert render(result()).splitlines()[-1] == "perfgate: PASS — 1 check: 1 pass in 2.0s"


def test_interrupted_or_broken_run_never_headlines_pass():
    last = render(result("interrupted", 130)).splitlines()[-1]
    assert last == "perfgate: INTERRUPTED (exit 130) — 1 check: 1 pass in 2.0s"
    assert "PASS —" not in last
    assert render(result("broken", 3)).splitlines()[-1].startswith("perfgate: BROKEN (exit 3)")


def test_warnings_that_fail_the_gate_headline_fail():
    doc = ResultDocument(run={"status": "completed", "duration": 2.0, "fail_on": "warn"},
                         exit_code=1, checks=[Check(name="latency", metric="m",
                                                    verdict=Verdict.WARN)])
    doc.summarise()
    assert render(doc).splitlines()[-1] == "perfgate: FAIL (exit 1) — 1 check: 1 warn in 2.0s"


def test_control_characters_in_names_are_dropped_but_colours_kept():
    text = render(result(name="evil\x1b]0;title\x07\x1b[2Jname"), colour=True)
    assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text
    assert "evil]0;title[2Jname" in text  # harmless once the ESC is gone
    assert "\x1b[32m" in text  # the verdict's own colour survives


def test_scenario_line_shows_the_rate_a_check_would_judge():
    metrics = MetricSet()
    reqs = metrics.counter("http.reqs", {"scenario": "load", "name": "a"})
    for _ in range(300):
        reqs.add(1, t=1000.5)
    reqs.set_window(1000.0, 1003.0)  # 300 requests over the 3 s of load
    doc = result()
    doc.metrics = metrics.to_list()
    doc.scenarios = [{"name": "load", "driver": "http", "started": 999.0, "finished": 1004.0,
                      "status": "completed", "error": None}]
    assert "scenario load (http): completed, 300 requests, 100.0/s" in render(doc)


def test_each_endpoints_slowest_traced_request_is_shown_under_its_scenario():
    doc = result()
    doc.scenarios = [{"name": "load", "driver": "http", "status": "completed", "error": None}]
    doc.details = {"load": {"slowest": {
        "records": [{"trace_id": "a" * 32, "duration_ms": 91.398, "status": 200},
                    {"trace_id": "b" * 32, "duration_ms": 12.0, "status": 200}],
        "login": [{"trace_id": "c" * 32, "duration_ms": 5000.0, "status": "timeout"}],
        "broken": [{"duration_ms": 1.0}, "not an entry"]}}}
    lines = render(doc).splitlines()
    at = lines.index("scenario load (http): completed")
    assert lines[at + 1:at + 3] == [
        f"  slowest login: 5000.00ms (timeout), trace {'c' * 32}",
        f"  slowest records: 91.40ms (200), trace {'a' * 32}"]
    assert "b" * 32 not in "\n".join(lines)  # one per endpoint: the others are in the result
    assert "broken" not in "\n".join(lines)
