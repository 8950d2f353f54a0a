"""The Markdown report renders to the expected HTML tables (CommonMark with GFM tables)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfgate import Baseline, format_delta
from perfgate_markdown import render


def number(cell: str) -> float:
    return float(re.match(r"[-+]?[\d.]+", cell).group(0))


def test_verdict_and_summary_come_first(result):
    text = render(result)
    first, summary = text.splitlines()[0], text.splitlines()[2]
    assert first == "## 💥 perfgate: ERROR"
    assert summary == ("**5 checks**: ✅ 1 pass · ⚠️ 1 warn · ❌ 1 fail · 💥 1 error · ⏭️ 1 skip"
                       " — exit code 1")
    assert text.index("### Checks") < text.index("### Scenarios") < text.index("### Environment")


def test_checks_table_shows_every_verdict(result, tables, find_table, html):
    rows = find_table(tables(render(result)), "Check")
    assert rows == [
        ["Check", "Metric", "Measured", "Target", "Critical", "Verdict"],
        ["api-latency", "http.req_duration{scenario:load}", "p(95) 182.40ms",
         "p(95) < 200ms ✅", "p(95) < 1000ms ✅", "✅ pass"],
        ["error-rate", "http.req_failed{scenario:load}", "rate 3.33%", "rate < 1% ❌",
         "rate < 20% ✅", "⚠️ warn"],
        ["throughput", "http.reqs{scenario:load}", "rate 15/s", "rate > 500 ❌",
         "rate > 100 ❌", "❌ fail"],
        ["db-latency", "postgres.query_duration", "n/a", "p(95) < 100ms", "—", "💥 error"],
        ["frontend-load", "browser.load_time{scenario:frontend}", "n/a", "p(95) < 3s",
         "p(95) < 5s", "⏭️ skip"],
    ]
    page = html(render(result))
    # Messages of checks that did not pass are listed under the table; a pass needs none.
    assert "<strong>db-latency</strong>: postgres.query_duration was not measured because " \
           "postgres: connection refused" in page
    assert "<strong>api-latency</strong>" not in page


def test_request_table_matches_the_ground_truth(result, tables, find_table):
    rows = find_table(tables(render(result)), "Endpoint")
    assert rows[0] == ["Endpoint", "Requests", "Rate", "p50", "p95", "p99", "Errors"]
    by_label = {row[0]: row for row in rows[1:]}
    assert list(by_label) == ["GET health", "POST users", "Total"]
    # health: 1..100 ms; users: 20, 40 .. 1000 ms with 5 of 50 failed; 10 s window.
    truth = {"GET health": ("100", "10/s", 50, 95, 99, "0 (0.00%)"),
             "POST users": ("50", "5/s", 500, 960, 1000, "5 (10.00%)"),
             "Total": ("150", "15/s", 72, 860, 980, "5 (3.33%)")}
    for label, (count, rate, p50, p95, p99, errors) in truth.items():
        row = by_label[label]
        assert row[1:3] == [count, rate]
        assert row[6] == errors
        for cell, expected in zip(row[3:6], (p50, p95, p99), strict=True):
            assert cell.endswith("ms")
            # HDR histograms keep three significant digits.
            assert number(cell) == pytest.approx(expected, rel=1e-3)


def test_scenarios_resources_statements_notes_environment(result, tables, find_table, html):
    found = tables(render(result))
    assert find_table(found, "Scenario")[1:] == [
        ["load", "http", "✅ completed", "10s", ""],
        ["frontend", "lighthouse", "⏭️ skipped", "n/a", ""]]
    # vus is a driver's gauge (it carries a scenario), not a resource.
    assert find_table(found, "Metric") == [["Metric", "Avg", "Max", "Last"],
                                           ["system.cpu", "20.0%", "30.0%", "30.0%"]]
    assert find_table(found, "#")[1:] == [
        ["1", "SELECT * FROM users WHERE id = $1", "120", "960.00ms", "8.00ms", "42.50ms"],
        ["2", "UPDATE orders SET state = 'paid' WHERE id = $1", "30", "300.00ms", "10.00ms",
         "12.00ms"]]
    assert find_table(found, "Component")[1] == ["postgres", "collector", "start",
                                                 "connection refused"]
    env = dict(row for row in find_table(found, "Property")[1:])
    assert env["Host"] == "ci-runner-7"
    assert env["Python"] == "3.11.9"
    assert env["Targets SHA-256"] == "ab" * 32
    assert env["Started"] == "2023-11-14 22:13:20 UTC"
    assert find_table(found, "Plugin")[1] == ["markdown", "perfgate-markdown", "0.1.0"]
    assert "<li>CPU was above 90% on the load generator: latencies may be overstated</li>" \
        in html(render(result))


def test_statements_are_limited(result, tables, find_table):
    rows = find_table(tables(render(result, top_statements=1)), "#")
    assert len(rows) == 2
    assert "Slowest statements" not in render(result, top_statements=0)


def test_interrupted_run_says_so(result, html):
    result.run["status"] = "interrupted"
    result.run["fail_on"] = "warn"
    page = html(render(result))
    assert "<blockquote>\n<p>⚠️ The run was interrupted" in page
    assert "Warnings fail this gate" in page


def test_a_run_stopped_by_abort_on_fail_says_by_which_check_and_when(result, html):
    result.run.update(status="aborted", aborted={
        "check": "latency", "group": "targets", "metric": "http.req_duration", "at": 0.0,
        "after": 4.04, "message": "p(95) = 812.00ms crossed critical p(95) < 500ms"})
    page = html(render(result))
    assert ("<blockquote>\n<p>⚠️ The load was stopped 4.0 s in by check 'latency' "
            "(abort_on_fail): p(95) = 812.00ms crossed critical p(95) &lt; 500ms.") in page


@pytest.mark.parametrize(("status", "exit_code", "verdict", "fail_on", "heading"), [
    ("completed", 0, "pass", "fail", "## ✅ perfgate: PASS"),
    ("completed", 0, "warn", "fail", "## ⚠️ perfgate: WARN"),
    ("completed", 1, "fail", "fail", "## ❌ perfgate: FAIL"),
    ("completed", 1, "warn", "warn", "## ❌ perfgate: FAIL (exit 1) — checks: warn"),
    ("interrupted", 130, "pass", "fail", "## ⛔ perfgate: INTERRUPTED (exit 130) — checks: pass"),
    ("interrupted", 143, "fail", "fail", "## ⛔ perfgate: INTERRUPTED (exit 143) — checks: fail"),
    ("broken", 3, "pass", "fail", "## 💥 perfgate: BROKEN (exit 3) — checks: pass"),
    ("broken", 3, "warn", "fail", "## 💥 perfgate: BROKEN (exit 3) — checks: warn"),
    # a reporter failed after the status was written: the exit code still says broken
    ("completed", 3, "pass", "fail", "## 💥 perfgate: BROKEN (exit 3) — checks: pass"),
])
def test_heading_never_contradicts_the_exit_code(status, exit_code, verdict, fail_on,
                                                 heading):
    from perfgate import ResultDocument

    doc = ResultDocument(run={"status": status, "fail_on": fail_on}, verdict=verdict,
                         exit_code=exit_code)
    lines = render(doc).splitlines()
    assert lines[0] == heading
    assert lines[2].endswith(f"— exit code {exit_code}")


def test_unnamed_requests_show_their_method_once(tables, find_table):
    from perfgate import MetricSet, ResultDocument

    metrics = MetricSet()
    # the http driver names an unnamed request after its method and path
    for name, method in (("GET /x", "GET"), ("post /y", "POST"), ("GETTER", "GET")):
        tags = {"scenario": "load", "name": name, "method": method, "status": "200"}
        metrics.trend("http.req_duration", tags, "ms").add(10.0, 1.0)
        metrics.counter("http.reqs", tags).add(1, 1.0)
    metrics.set_window(0.0, 2.0)
    doc = ResultDocument(run={"status": "completed"}, metrics=metrics.to_list(),
                         scenarios=[{"name": "load", "driver": "http", "started": 0.0,
                                     "finished": 2.0, "status": "completed", "error": None}])
    rows = find_table(tables(render(doc)), "Endpoint")
    assert [row[0] for row in rows[1:]] == ["GET /x", "GET GETTER", "post /y", "Total"]


def test_ratio_and_percent_deltas_are_in_points():
    assert format_delta(0.0010, 0.0001, "ratio") == "+0.09 pp"
    assert format_delta(0.02, 0.05, "ratio") == "-3.00 pp"
    assert format_delta(35.0, 20.0, "%") == "+15.0 pp"
    assert format_delta(0.05, 0.05, "ratio") == "±0"
    assert format_delta(110.0, 100.0, "ms") == "+10.00ms (+10.0%)"


def test_baseline_adds_delta_columns(result, make_result, tables, find_table, html):
    before = make_result(p95=160.0, cpu=(5.0, 10.0, 15.0),
                         users_ms=[float(v) for v in range(10, 501, 10)])
    before.checks = [c for c in before.checks if c.name != "throughput"]
    text = render(result, Baseline(Path("base.json"), before))
    found = tables(text)
    checks = {row[0]: row for row in find_table(found, "Check")}
    assert checks["Check"][-2:] == ["Baseline", "Δ"]
    assert checks["api-latency"][-2:] == ["160.00ms", "+22.40ms (+14.0%)"]
    assert checks["error-rate"][-2:] == ["3.33%", "±0"]
    # The baseline lacks the throughput check but measured its metric: 150 requests in 10 s.
    assert checks["throughput"][-2:] == ["15/s", "±0"]
    # Neither the check nor its metric measured anything in the baseline.
    assert checks["db-latency"][-2:] == ["new", "—"]
    requests = {row[0]: row for row in find_table(found, "Endpoint")}
    assert requests["Endpoint"][-3:] == ["Δ p95", "Δ rate", "Δ errors"]
    assert requests["GET health"][-3:] == ["±0", "±0", "±0"]
    # users took twice as long as in the baseline: 960 ms against 480 ms at p95.
    delta = requests["POST users"][-3]
    assert delta.startswith("+") and delta.endswith("(+100.0%)")
    assert number(delta[1:]) == pytest.approx(480, rel=2e-3)
    resources = find_table(found, "Metric")
    assert resources[1] == ["system.cpu", "20.0%", "30.0%", "30.0%", "+10.0 pp", "+15.0 pp"]
    assert "Compared with the baseline <code>base.json</code> (run <code>run-42</code>" \
        in html(text)


def test_without_checks_or_metrics():
    from perfgate import ResultDocument

    doc = ResultDocument(run={"status": "broken"}, verdict="error", exit_code=3)
    doc.summarise()
    text = render(doc)
    assert "No targets were checked." in text
    assert "The run broke" in text
    assert "### Scenarios" not in text and "### Resource usage" not in text


def test_pages_stand_side_by_side_with_links_to_their_reports(result, tables, find_table, html):
    def page(when: str, lcp: float, report: str) -> dict:
        return {"page": "home", "preset": "desktop", "when": when, "report": report,
                "values": {"frontend.performance_score": 0.984, "frontend.fcp": 212.0,
                           "frontend.lcp": lcp, "frontend.tbt": 0.0, "frontend.cls": 0.0042,
                           "frontend.load_time": 179.0}}

    result.details["page"] = {"pages": [
        page("during", 1840.5, "lighthouse/page/during-home-desktop-1.report.html"),
        page("before", 361.1, "lighthouse/page/before-home-desktop-1.report.html")]}
    result.metrics.append({"name": "frontend.lcp", "kind": "gauge", "unit": "ms",
                           "tags": {"page": "home", "when": "before"},
                           "values": {"value": 361.1, "min": 361.1, "max": 361.1,
                                      "avg": 361.1}})
    text = render(result)
    rows = find_table(tables(text), "Page")
    assert rows == [
        ["Page", "Preset", "When", "Score", "FCP", "LCP", "TBT", "CLS", "TTI", "Load", "Report"],
        ["home", "desktop", "before", "98", "212.00ms", "361.10ms", "0.00ms", "0.004", "—",
         "179.00ms", "HTML"],
        ["home", "desktop", "during", "98", "212.00ms", "1840.50ms", "0.00ms", "0.004", "—",
         "179.00ms", "HTML"]]
    assert '<a href="lighthouse/page/before-home-desktop-1.report.html">HTML</a>' in html(text)
    # A page's numbers are not resource usage.
    assert "frontend.lcp" not in str(find_table(tables(text), "Metric"))


def test_the_slowest_traced_requests_are_listed_and_linked(result, tables, find_table, html):
    result.details["load"] = {"slowest": {
        "users|<b>": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "duration_ms": 1000.0,
                       "status": 500},
                      {"trace_id": "00f067aa0ba902b7a3ce929d0e0e4736", "duration_ms": 980.5,
                       "status": "timeout"}]}}
    rows = find_table(tables(render(result)), "Request")
    assert rows == [["Request", "Scenario", "Time", "Status", "Trace"],
                    ["users|<b>", "load", "1000.00ms", "500", "4bf92f3577b34da6a3ce929d0e0e4736"],
                    ["users|<b>", "load", "980.50ms", "timeout",
                     "00f067aa0ba902b7a3ce929d0e0e4736"]]
    page = html(render(result, trace_url="http://127.0.0.1:16686/trace/{trace_id}?x=(1)"))
    assert ('<a href="http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736?x=%281%29">'
            '<code>4bf92f3577b34da6a3ce929d0e0e4736</code></a>') in page
    assert "<b>" not in page


def test_no_slowest_section_without_traced_requests(result):
    assert "### Slowest requests" not in render(result)
