"""The report's tables and chart data, against numbers known in advance."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from perfgate import Baseline, MetricSet, ResultDocument
from perfgate_html import render


def chart(page, title: str) -> dict:
    return next(c for c in page.data["charts"] if c["title"] == title)


def line(chart_data: dict, label: str) -> list:
    return next(x["values"] for x in chart_data["lines"] if x["label"] == label)


def at(chart_data: dict, label: str, x: float):
    return line(chart_data, label)[chart_data["x"].index(x)]


def test_the_verdict_comes_first_and_matches_the_exit_code(result, parse):
    page = parse(render(result))
    text = "".join(page.text)
    assert page.tags.index("header") < page.tags.index("table")
    assert "perfgate: FAIL" in text
    assert "3 checks" in text and "1 pass" in text and "1 warn" in text and "1 fail" in text
    assert "exit code 1" in text


def test_the_checks_table_is_plain_html(result, parse):
    checks = parse(render(result)).table_with("Check")
    assert checks[0] == ["Check", "Metric", "Measured", "Target", "Critical", "Verdict"]
    rows = {row[0]: row for row in checks[1:]}
    assert rows["api-latency"][2] == "p(95) 95.00ms"
    assert rows["api-latency"][3] == "p(95) < 200ms ✓ met"
    assert rows["error-rate"][3] == "rate < 1% ✗ missed"
    assert rows["error-rate"][4] == "rate < 20% ✓ met"
    assert rows["cpu"][5] == "✗ fail"


def test_request_table_per_endpoint_from_the_histograms(result, parse):
    rows = {r[0]: r for r in parse(render(result)).table_with("Endpoint")[1:]}
    # health answered in 1, 2, ... 100 ms: its percentiles are known, within the HDR
    # histogram's 3 significant digits.
    health = rows["GET health"]
    assert health[1:3] == ["100", "10/s"] and health[6:8] == ["100.00ms", "0 (0.00%)"]
    assert [float(c.removesuffix("ms")) for c in health[3:6]] == pytest.approx(
        [50.0, 95.0, 99.0], rel=1e-3)
    assert rows["POST users"][1] == "100" and rows["POST users"][7] == "5 (5.00%)"
    assert rows["Total"][1] == "200" and rows["Total"][7] == "5 (2.50%)"
    failures = parse(render(result)).table_with("Kind")
    assert failures[1] == ["POST users", "404", "http_4xx", "5"]


def test_time_charts_per_scenario_with_their_thresholds(result, parse):
    page = parse(render(result))
    requests = chart(page, "Requests per second: load")
    assert requests["x"] == [float(s) for s in range(10)]  # seconds since the load began
    assert line(requests, "requests/s") == [20.0] * 10
    latency = chart(page, "Latency: load")
    assert {(r["level"], r["value"]) for r in latency["rules"]} == {("target", 200.0),
                                                                   ("critical", 1000.0)}
    failed = chart(page, "Failed requests: load")
    # one 404 in every 20 requests of users: in seconds 0, 2, 4, 6 and 8
    assert line(failed, "failed share") == [0.05, 0.0] * 5
    assert {r["value"] for r in failed["rules"]} == {0.01, 0.2}  # http.req_failed, any scenario
    errors = chart(page, "Errors by kind: load")
    assert line(errors, "http_4xx") == [1.0, 0.0] * 5
    users = chart(page, "Virtual users: load")
    assert line(users, "VUs") == [5.0] * 10


def test_latency_over_time_is_p50_p95_p99_of_each_second(result, parse):
    latency = chart(parse(render(result)), "Latency: load")
    assert [x["label"] for x in latency["lines"]] == ["p(50)", "p(95)", "p(99)"]
    # second 3: health took 31..40 ms, users 10 ms ten times: 20 samples
    values = sorted([float(v) for v in range(31, 41)] + [10.0] * 10)
    for label, p in (("p(50)", 50), ("p(95)", 95), ("p(99)", 99)):
        exact = values[max(0, -(-p * len(values) // 100) - 1)]
        assert at(latency, label, 3.0) == pytest.approx(exact, rel=0.02)


def test_resource_charts_with_thresholds(result, parse):
    page = parse(render(result))
    cpu = chart(page, "system (%)")
    assert [x["label"] for x in cpu["lines"]] == ["cpu"]
    assert line(cpu, "cpu") == [10.0 * (s + 1) for s in range(10)]
    assert sorted(r["value"] for r in cpu["rules"]) == [80.0, 95.0]
    rows = {r[0]: r for r in page.table_with("Avg")[1:]}
    assert rows["system.cpu"][1:] == ["55.0%", "100.0%", "100.0%"]


def test_a_percentile_curve_per_endpoint(result, parse):
    curve = chart(parse(render(result)), "Latency by percentile: load")
    assert curve["axis"] == "percentile"
    x = curve["x"]
    assert x[0] == 1 and x[10] == pytest.approx(10) and x[20] == pytest.approx(100)
    health = line(curve, "GET health")
    assert health[0] == 1.0  # the minimum
    assert health[10] == pytest.approx(90.0, rel=0.001)  # p90 of 1..100 ms
    assert health[20] == pytest.approx(99.0, rel=0.001)  # p99
    assert all(v is None for v in health[21:])  # beyond one sample in 100: not known
    assert set(line(curve, "POST users")[:21]) == {10.0}
    assert {r["value"] for r in curve["rules"]} == {200.0, 1000.0}


def test_hostile_names_are_escaped_everywhere(parse, make_result, hostile):
    text = render(make_result(hostile=True))
    page = parse(text)
    # Only the report's own three scripts: the data block, uPlot and the page's script.
    assert len(page.scripts) == 3 and "<b>" not in text and "alert(\"x\")</script>" not in text
    # ... and the names read back as written, in the tables and in the charts' labels.
    assert hostile in page.table_with("Check")[1][0]
    assert f"POST {hostile}" in [r[0] for r in page.table_with("Endpoint")]
    assert hostile in "".join(page.text)
    labels = [x["label"] for c in page.data["charts"] for x in c["lines"]]
    assert f"POST {hostile}" in labels
    assert "</script" not in page.data_block.lower() and "<" not in page.data_block


def test_nothing_is_fetched_and_only_the_reports_own_scripts_may_run(result, parse):
    text = render(result)
    page = parse(text)
    assert not re.search(r"\s(src|href)=", text)  # no file, font, image or script to load
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert policy and "default-src &#x27;none&#x27;" in policy.group(1)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(scripts) == 2
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"sha256-{digest}" in policy.group(1)
    assert "uPlot 1.6.32" in "".join(page.text)


def test_baseline_deltas_in_checks_and_requests(result, parse, tmp_path, make_result):
    before = make_result(p95=80.0)
    path = tmp_path / "baseline.json"
    path.write_text("{}")
    page = parse(render(result, Baseline(path, before)))
    checks = page.table_with("Check")
    assert checks[0][-2:] == ["Baseline", "Δ"]
    row = next(r for r in checks if r[0] == "api-latency")
    assert row[-2:] == ["80.00ms", "+15.00ms (+18.8%)"]
    requests = page.table_with("Endpoint")
    assert requests[0][-3:] == ["Δ p95", "Δ rate", "Δ errors"]
    assert next(r for r in requests if r[0] == "GET health")[-3:] == ["±0", "±0", "±0"]
    assert "Compared with the baseline" in "".join(page.text)


def test_pages_show_scores_at_rest_and_under_load(result, parse):
    result.details["lighthouse"] = {"pages": [
        {"page": "/", "preset": "desktop", "when": "during",
         "values": {"frontend.performance_score": 0.62, "frontend.lcp": 2400.0,
                    "frontend.cls": 0.02}},
        {"page": "/", "preset": "desktop", "when": "before",
         "values": {"frontend.performance_score": 0.97, "frontend.lcp": 900.0,
                    "frontend.cls": 0.02}},
    ]}
    rows = parse(render(result)).table_with("Score")[1:]
    assert [(r[2], r[3], r[5]) for r in rows] == [("before", "97", "900.00ms"),
                                                 ("during", "62", "2400.00ms")]


def test_a_compact_result_still_renders(parse, make_result):
    doc = make_result().to_dict()
    for metric in doc["metrics"]:
        metric["series"], metric["data"] = [], {}
    page = parse(render(ResultDocument.from_dict(doc)))
    assert len(page.table_with("Check")) == 4  # the checks stand; no data to chart
    assert page.data["charts"] == []


def test_the_package_ships_the_library_and_its_license():
    root = Path(__file__).resolve().parents[1] / "src" / "perfgate_html" / "vendor"
    assert (root / "uPlot.iife.min.js").read_text().startswith(
        "/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert "MIT License" in (root / "uPlot.LICENSE").read_text()


def test_containers_databases_and_caches_have_sections_of_their_own(result, parse):
    t0 = result.scenarios[0]["started"]
    metrics = MetricSet.from_list(result.metrics)
    for second in range(10):
        for container, share in (("api", 20.0), ("db", 5.0)):
            metrics.gauge("docker.cpu", {"container": container}, "%").add(share, t0 + second)
        metrics.counter("postgres.transactions", {}, "").add(30.0 * (second % 2), t0 + second)
        metrics.gauge("redis.hit_rate", {}, "ratio").add(0.9, t0 + second)
    result.metrics = metrics.to_list()
    result.details["postgres"] = {"top_statements": [
        {"query": "SELECT * FROM users WHERE name = '<b>x</b>'", "calls": 40,
         "total_ms": 120.0, "mean_ms": 3.0, "max_ms": 9.5}]}
    text = render(result)
    page = parse(text)
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert headings.index("Host and load generator") < headings.index("Containers") < \
        headings.index("Databases and caches")
    docker = chart(page, "docker (%)")
    assert [x["label"] for x in docker["lines"]] == ["cpu {container: api}",
                                                     "cpu {container: db}"]
    assert line(docker, "cpu {container: api}") == [20.0] * 10
    postgres = chart(page, "postgres (/s)")  # a counter: its amount in each second
    assert line(postgres, "transactions") == [0.0, 30.0] * 5
    assert line(chart(page, "redis (ratio)"), "hit_rate") == [0.9] * 10
    # the scenario's window, shaded on every collector's chart
    assert docker["bands"] == [{"label": "load", "start": 0.0, "end": 10.0}]
    statements = page.table_with("Statement")
    assert statements[1][:3] == ["1", "SELECT * FROM users WHERE name = '<b>x</b>'", "40"]


@pytest.mark.parametrize(("status", "exit_code", "fail_on", "headline"), [
    ("interrupted", 130, "fail", "perfgate: INTERRUPTED"),
    ("broken", 3, "fail", "perfgate: BROKEN"),
    ("completed", 1, "warn", "perfgate: FAIL"),
    ("completed", 0, "fail", "perfgate: WARN"),
])
def test_the_headline_never_contradicts_the_exit_code(parse, make_result, status, exit_code,
                                                      fail_on, headline):
    result = make_result()
    result.checks = [c for c in result.checks if c.verdict.value != "fail"]
    result.summarise()
    result.run.update(status=status, fail_on=fail_on)
    result.exit_code = exit_code
    text = "".join(parse(render(result)).text)
    assert headline in text and f"exit code {exit_code}" in text
    if headline != "perfgate: WARN":
        assert "checks: warn" in text


def test_a_run_stopped_by_abort_on_fail_says_by_which_check_and_when(parse, make_result):
    result = make_result()
    result.run.update(status="aborted", aborted={
        "check": "latency", "group": "targets", "metric": "http.req_duration", "at": 0.0,
        "after": 4.04, "message": "p(95) = 812.00ms crossed critical p(95) < 500ms"})
    text = "".join(parse(render(result)).text)
    assert ("The load was stopped 4.0 s in by check 'latency' (abort_on_fail): "
            "p(95) = 812.00ms crossed critical p(95) < 500ms.") in text


def test_the_baseline_is_drawn_beside_on_the_same_clock(result, parse, make_result, tmp_path):
    # The same load, run 100 s earlier: its lines fall on this run's, second for second.
    before = make_result().to_dict()
    for metric in before["metrics"]:
        metric["series"] = [[row[0] - 100, *row[1:]] for row in metric["series"]]
        seconds = metric["data"].get("seconds")
        if seconds:
            seconds["buckets"] = [[s - 100, text] for s, text in seconds["buckets"]]
    before["scenarios"][0]["started"] -= 100
    baseline = Baseline(tmp_path / "baseline.json", ResultDocument.from_dict(before))
    page = parse(render(result, baseline))
    latency = chart(page, "Latency: load")
    assert line(latency, "baseline p(95)") == line(latency, "p(95)")
    assert len(latency["x"]) == 10
    requests = chart(page, "Requests per second: load")
    assert line(requests, "baseline requests/s") == line(requests, "requests/s") == [20.0] * 10
