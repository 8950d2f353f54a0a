"""The report of a real run of the demo service, opened in a real headless Chromium.

The run starts the demo service, loads it for a few seconds with the http driver (one
request, named with markup and quotes, goes to a path that answers 404), samples the host,
and writes the JSON result and the HTML report. The browser opens the file: nothing may be
fetched, nothing may be logged as an error, no script but the report's own may run, and
every chart must be drawn with its data.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfgate import ResultDocument
from perfgate.testing import free_port, run_targets

pytest.importorskip("demo_app")
pytest.importorskip("perfgate_aiohttp_api")

#: The charts such a run has, in page order.
CHARTS = ["Latency: load", "Requests per second: load", "Failed requests: load",
          "Errors by kind: load", "Virtual users: load", "Latency by percentile: load"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short run of the demo gate; its output folder."""
    out = tmp_path_factory.mktemp("demo")
    port = free_port()
    hostile = "<script>alert(\"x\")</script> it's \"quoted\""
    targets = {
        "version": 1,
        "services": {"api": {"url": f"http://127.0.0.1:{port}", "health": "/health",
                             "start": f"{sys.executable} -m demo_app --port {port}",
                             "start_timeout": "30s"}},
        "scenarios": {"load": {
            "driver": "http", "service": "api", "executor": "constant-vus", "vus": 20,
            "duration": "4s",
            "requests": [
                {"name": "health", "path": "/health", "weight": 2, "think_time": "50ms"},
                {"name": "records", "path": "/api/records", "weight": 6,
                 "think_time": "50ms"},
                {"name": hostile, "path": "/missing", "weight": 1, "think_time": "50ms"},
            ]}},
        "collectors": {"system": {"interval": "1s"}},
        "targets": {
            "api-latency": {"metric": "http.req_duration{scenario:load}",
                            "target": "p(95) < 200ms", "critical": "p(95) < 1000ms"},
            "error-rate": {"metric": "http.req_failed", "target": "rate < 5%",
                           "critical": "rate < 50%"},
            "throughput": {"metric": "http.reqs", "target": "rate > 50",
                           "critical": "rate > 10"},
            "cpu": {"metric": "system.cpu", "target": "max < 99%", "critical": "max < 101%"},
        },
        "reporters": {"json": {"path": "result.json"}, "html": {"path": "report.html"}},
    }
    outcome = run_targets(targets, output_dir=out)
    assert outcome.result.run["status"] == "completed", outcome.result.errors
    return out


def test_the_report_of_a_demo_run_opens_clean_and_draws_every_chart(demo_run, chromium):
    result = ResultDocument.load(demo_run / "result.json")
    report = demo_run / "report.html"
    opened = chromium(report)

    assert opened.requests == [report.resolve().as_uri()]  # the file itself, nothing else
    assert opened.console == [] and opened.exceptions == []
    assert opened.dialogs == []  # the request name's <script> did not run
    assert opened.scripts == 3  # the data block, uPlot, the report's script
    assert "<script>alert(\"x\")</script> it's \"quoted\"" in opened.text

    titles = [c["title"] for c in opened.charts]
    assert titles[:len(CHARTS)] == CHARTS
    assert "system (%)" in titles
    canvases = {c["id"]: c for c in opened.canvases}
    for chart in opened.charts:
        canvas = canvases[chart["id"]]
        assert chart["points"] > 0, chart
        assert canvas["canvas"] and canvas["width"] > 300 and canvas["height"] > 100, canvas
        # A line's colour is on the canvas: a line was drawn, not only the axes.
        assert max(canvas["lines"]) > 20, (chart, canvas)
    rules = {c["title"]: c["rules"] for c in opened.charts}
    assert rules["Latency: load"] == 2 and rules["system (%)"] == 2
    assert rules["Requests per second: load"] == 2 and rules["Failed requests: load"] == 2

    requests = sum(m["values"]["count"] for m in result.metrics if m["name"] == "http.reqs")
    assert f"{requests:.0f}" in opened.text  # the total row of the request table
    assert opened.screenshot.startswith(b"\x89PNG\r\n\x1a\n")
    shot = os.environ.get("PERFGATE_HTML_SCREENSHOT")
    if shot:  # how docs/images/html-report.png is made
        Path(shot).write_bytes(opened.screenshot)


def test_perfgate_report_renders_the_same_page_from_the_result(demo_run, tmp_path):
    again = tmp_path / "again.html"
    command = [sys.executable, "-m", "perfgate.cli", "report", str(demo_run / "result.json"),
               "--html", str(again)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert again.read_text() == (demo_run / "report.html").read_text()


def test_without_javascript_the_tables_are_all_there(demo_run, chromium):
    opened = chromium(demo_run / "report.html", scripts=False)
    assert opened.console == [] and opened.exceptions == []
    assert opened.charts == [] and all(not c["canvas"] for c in opened.canvases)
    assert "This chart needs JavaScript; the tables hold its numbers." in opened.text
    for heading in ("Checks", "api-latency", "Scenario: load", "GET health", "Total",
                    "Host and load generator", "system.cpu", "Environment"):
        assert heading in opened.text


def test_the_history_charts_draw_over_the_runs(demo_run, chromium, tmp_path):
    """Two earlier runs (the demo run's document, its values changed), charted with it."""
    from perfgate_html import render

    result = ResultDocument.load(demo_run / "result.json")
    earlier = []
    for n, factor in ((2, 0.8), (1, 1.3)):  # newest first, as the run history gives them
        doc = ResultDocument.from_dict(copy.deepcopy(result.to_dict()))
        doc.run["id"] = f"earlier{n}"
        doc.run["started"] = float(result.run["started"]) - 3600 * n
        for check in doc.checks:
            if check.measured is not None:
                check.measured *= factor
        earlier.append(doc)
    page = tmp_path / "history.html"
    page.write_text(render(result, history=earlier), encoding="utf-8")
    opened = chromium(page)
    assert opened.console == [] and opened.exceptions == []
    canvases = {c["id"]: c for c in opened.canvases}
    drawn = [c for c in opened.charts if c["title"].startswith("api-latency: ")]
    assert len(drawn) == 1 and drawn[0]["points"] == 3
    canvas = canvases[drawn[0]["id"]]
    assert canvas["canvas"] and max(canvas["lines"]) > 20, canvas
    assert "in the 2 earlier runs of the run history" in opened.text
