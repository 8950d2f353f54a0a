"""Why requests failed, in every report, against the ground-truth server's own counts.

``/status/404`` always answers 404, the first of every two requests to ``/errors/1/2`` is a
500, every third request to ``/hang/3`` never answers (a timeout at 300 ms); the server counts
what it received per path, so each report's numbers have a ground truth.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from perfgate.testing import run_targets

TARGETS = """
version: 1
services:
  gt: {{url: "{url}"}}
scenarios:
  load:
    driver: http
    service: gt
    executor: shared-iterations
    vus: 3
    iterations: 60
    timeout: 300ms
    requests:
      - {{name: missing, path: /status/404}}
      - {{name: flaky, path: /errors/1/2, checks: {{status: 200}}}}
      - {{name: hang, path: /hang/3}}
      - {{name: health, path: /health, checks: {{status: 200}}}}
targets:
  errors: {{metric: http.req_failed, critical: rate < 1%}}
reporters:
  console: {{}}
  json: {{path: result.json}}
  markdown: {{path: report.md, step_summary: false}}
  junit: {{path: junit.xml}}
"""


@pytest.fixture(scope="module")
def run(server, tmp_path_factory):
    """One run of the scenario, its reports, and what the server received per path."""
    server.reset()
    out = tmp_path_factory.mktemp("failures")
    outcome = run_targets(TARGETS.format(url=server.url), output_dir=out)
    paths = server.counters()["paths"]
    truth = {"GET missing": {"404": paths["/status/404"]},
             "GET flaky": {"500": (paths["/errors/1/2"] + 1) // 2},
             "GET hang": {"timeout": paths["/hang/3"] // 3}}
    assert all(n > 0 for reasons in truth.values() for n in reasons.values())
    checks = {"flaky": (paths["/errors/1/2"] // 2, (paths["/errors/1/2"] + 1) // 2),
              "health": (paths["/health"], 0)}
    return outcome, out, truth, checks


def test_the_result_document_lists_failures_by_endpoint_and_reason(run):
    outcome, out, truth, checks = run
    assert outcome.exit_code == 1
    [scenario] = json.loads((out / "result.json").read_text())["scenarios"]
    found: dict[str, dict[str, int]] = {}
    for failure in scenario["failures"]:
        assert failure["scenario"] == "load"
        found.setdefault(failure["endpoint"], {})[failure["reason"]] = failure["count"]
    assert found == truth
    assert {c["endpoint"]: (c["check"], c["passes"], c["fails"])
            for c in scenario["response_checks"]} == {
        endpoint: ("status is 200", *counts) for endpoint, counts in checks.items()}


def test_console_lists_failures_and_checks_as_k6_does(run, capsys):
    from perfgate.builtin.console import render

    outcome, _, truth, checks = run
    text = render(outcome.result)
    for endpoint, reasons in truth.items():
        [(reason, count)] = reasons.items()
        assert f"  failed requests: {endpoint}: {reason} × {count:,}" in text
    passes, fails = checks["flaky"]
    assert (f"  ✗ flaky: status is 200  {passes / (passes + fails) * 100:.2f}% — "
            f"✓ {passes:,} / ✗ {fails:,}") in text
    assert f"  ✓ health: status is 200  100.00% — ✓ {checks['health'][0]:,} / ✗ 0" in text


def test_markdown_has_a_failed_requests_and_a_checks_table(run):
    from markdown_it import MarkdownIt

    _, out, truth, checks = run
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "#### Failed requests: load" in text and "#### Response checks: load" in text
    html = MarkdownIt("commonmark").enable("table").render(text)
    for endpoint, reasons in truth.items():
        [(reason, count)] = reasons.items()
        assert f"<td>{endpoint}</td>\n<td><code>{reason}</code></td>\n" \
               f'<td style="text-align:right">{count:,}</td>' in html
    passes, fails = checks["flaky"]
    assert "<td>flaky</td>\n<td>status is 200</td>\n" in html
    assert f'<td style="text-align:right">{passes:,}</td>\n' \
           f'<td style="text-align:right">{fails:,}</td>' in html


def test_junit_failure_text_says_why_requests_failed(run):
    _, out, truth, _ = run
    root = ET.parse(out / "junit.xml").getroot()
    [failure] = [case.find("failure") for case in root.iter("testcase")
                 if case.get("name") == "errors"]
    lines = failure.text.splitlines()
    for endpoint, reasons in truth.items():
        [(reason, count)] = reasons.items()
        assert f"failed requests: {endpoint}: {reason} × {count:,}" in lines
    assert any(line.startswith("failed check: ✗ flaky: status is 200") for line in lines)
