"""The reporter writes its file, the job summary, and compares with a baseline."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import ValidationError

from perfgate import (
    Collector,
    DriverScenario,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    Reporter,
    hookimpl,
)
from perfgate.plugins import PluginHost
from perfgate.result import write_atomic
from perfgate.testing import run_targets
from perfgate_markdown import MarkdownReporter, render


def reporter(context, **options) -> MarkdownReporter:
    return MarkdownReporter(MarkdownReporter.Config(**options), context)


def test_writes_the_report_under_the_output_folder(result, make_context, tmp_path,
                                                   monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    reporter(make_context(), path="reports/perf.md").report(result)
    assert (tmp_path / "reports" / "perf.md").read_text(encoding="utf-8") == render(result)
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["perf.md"]  # no temp left


def test_appends_to_the_github_step_summary(result, make_context, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    reporter(make_context()).report(result)
    reporter(make_context(), title="second").report(result)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n## 💥 perfgate: ERROR")
    assert text.count("### Checks") == 2 and "## 💥 second: ERROR" in text


def test_step_summary_can_be_turned_off(result, make_context, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    reporter(make_context(), step_summary=False).report(result)
    assert not summary.exists()


def test_a_huge_report_is_cut_to_fit_the_job_summary(result, make_context, tmp_path,
                                                     monkeypatch):
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result.notes = [f"note {i} " + "x" * 1000 for i in range(2000)]
    reporter(make_context()).report(result)
    text = summary.read_text(encoding="utf-8")
    assert len(text.encode()) <= 1024 * 1024
    assert "The report was cut here" in text
    assert len((tmp_path / "report.md").read_text(encoding="utf-8")) > 2_000_000


def test_baseline_from_the_command_line_wins(result, make_result, make_context, tmp_path,
                                             tables, find_table, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    older = make_result(p95=100.0)
    write_atomic(tmp_path / "cli.json", json.dumps(older.to_dict()))
    write_atomic(tmp_path / "option.json", json.dumps(make_result(p95=300.0).to_dict()))
    rep = reporter(make_context(baseline=tmp_path / "cli.json"),
                   baseline=str(tmp_path / "option.json"))
    rep.report(result)
    rows = find_table(tables((tmp_path / "report.md").read_text(encoding="utf-8")), "Check")
    assert rows[1][-2:] == ["100.00ms", "+82.40ms (+82.4%)"]
    assert "cli.json" in (tmp_path / "report.md").read_text(encoding="utf-8")

    reporter(make_context(), baseline=str(tmp_path / "option.json")).report(result)
    rows = find_table(tables((tmp_path / "report.md").read_text(encoding="utf-8")), "Check")
    assert rows[1][-2:] == ["300.00ms", "-117.60ms (-39.2%)"]


def test_baseline_option_is_relative_to_the_targets_file(result, make_result, make_context,
                                                          tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_atomic(tmp_path / "config" / "base.json", json.dumps(make_result().to_dict()))
    context = make_context()
    context.targets.path = tmp_path / "config" / "targets.yml"
    rep = reporter(context, baseline="base.json")
    assert context.baseline_path("base.json") == tmp_path / "config" / "base.json"
    rep.report(result)
    assert "| Baseline | Δ |" in (tmp_path / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("content, reason", [
    (None, "cannot read the baseline"),
    ("{not json", "is not JSON"),
    ('{"schema": "something-else"}', "is not a perfgate result document"),
    ('{"schema": "perfgate-result/1", "checks": [{"name": "x"}]}', "not a valid result"),
])
def test_an_unusable_baseline_is_reported_not_fatal(result, make_context, tmp_path, content,
                                                    reason, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    rep = reporter(make_context(baseline=path))
    rep.report(result)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "> ⚠️ No baseline comparison:" in text and reason in text
    assert "| Baseline | Δ |" not in text
    assert len(rep.errors) == 1 and reason in rep.errors[0]


def test_options_are_checked():
    with pytest.raises(ValidationError):
        MarkdownReporter.Config(pth="x.md")
    with pytest.raises(ValidationError):
        MarkdownReporter.Config(top_statements=-1)


def test_registered_through_its_entry_point():
    host = PluginHost.load()
    assert host.registry.get("reporter", "markdown") is MarkdownReporter
    assert issubclass(MarkdownReporter, Reporter)


# -- through the core ------------------------------------------------------------------------

class FixedScenario(DriverScenario):
    """Known request numbers: 1..100 ms on one endpoint, ``failures`` of them failed."""

    failures: int = 0


class FixedDriver(LoadDriver[FixedScenario]):
    name = "fixed-http"
    summary = "records known request metrics (tests only)"

    @classmethod
    def produces(cls, config):
        return [MetricInfo("http.req_duration", Kind.TREND, "ms"),
                MetricInfo("http.req_failed", Kind.RATE, "ratio"),
                MetricInfo("http.reqs", Kind.COUNTER, "")]

    def run(self) -> MetricSet:
        scenario = self.config
        metrics = MetricSet()
        start = time.time()
        tags = {"name": "items", "method": "GET", "status": "200"}
        for i in range(100):
            metrics.trend("http.req_duration", tags).add(float(i + 1), start)
            metrics.rate("http.req_failed", tags).add(i < scenario.failures, start)
            metrics.counter("http.reqs", tags).add(1, start)
        metrics.set_window(start, start + 1.0)
        return metrics


class BrokenCollector(Collector):
    name = "broken-db"
    summary = "cannot connect (tests only)"

    @classmethod
    def produces(cls, config):
        return [MetricInfo("db.query_time", Kind.TREND, "ms")]

    def start(self):
        raise ConnectionError("connection refused")


class FixedPlugin:
    @hookimpl
    def perfgate_register_components(self, register):
        register(FixedDriver)
        register(BrokenCollector)


TARGETS = """
version: 1
scenarios:
  load: {driver: fixed-http, failures: %d}
  spike: {driver: fixed-http}
collectors:
  broken-db: {}
targets:
  api-latency:
    {metric: "http.req_duration{scenario:load}", target: p(95) < 200ms, critical: p(95) < 1s}
  error-rate: {metric: http.req_failed, target: rate < 1%%, critical: rate < 20%%}
  throughput: {metric: http.reqs, target: rate > 500, critical: rate > 200}
  db-latency: {metric: db.query_time, target: p(95) < 100ms}
  spike-latency: {metric: "http.req_duration{scenario:spike}", target: p(95) < 200ms}
reporters:
  markdown: {path: out/report.md}
  json: {path: out/result.json}
"""


def test_a_run_through_the_core_writes_the_report(perfgate_plugin, tmp_path, tables,
                                                  find_table, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    perfgate_plugin(FixedPlugin())
    first = run_targets(TARGETS % 2, output_dir=tmp_path / "first", only=("load",))
    verdicts = {c.name: c.verdict.value for c in first.result.checks}
    assert verdicts == {"api-latency": "pass", "error-rate": "warn", "throughput": "fail",
                        "db-latency": "error", "spike-latency": "skip"}
    text = (tmp_path / "first" / "out" / "report.md").read_text(encoding="utf-8")
    assert text == render(first.result)
    rows = {row[0]: row for row in find_table(tables(text), "Check")}
    assert rows["api-latency"][2] == "p(95) 95.04ms"  # 1..100 ms in an HDR histogram
    assert rows["error-rate"][2] == "rate 2.00%"
    assert rows["throughput"][2:] == ["rate 100/s", "rate > 500 ❌", "rate > 200 ❌",
                                      "❌ fail"]
    assert rows["db-latency"][-1] == "💥 error"
    assert rows["spike-latency"][-1] == "⏭️ skip"
    requests = find_table(tables(text), "Endpoint")
    assert requests[1][:3] == ["GET items", "100", "100/s"]
    assert requests[1][-1] == "2 (2.00%)"

    second = run_targets(TARGETS % 4, output_dir=tmp_path / "second", only=("load",),
                         baseline=tmp_path / "first" / "out" / "result.json")
    text = (tmp_path / "second" / "out" / "report.md").read_text(encoding="utf-8")
    rows = {row[0]: row for row in find_table(tables(text), "Check")}
    assert rows["error-rate"][-2:] == ["2.00%", "+2.00 pp"]  # percentage points
    assert rows["api-latency"][-2:] == ["95.04ms", "±0"]
    requests = find_table(tables(text), "Endpoint")
    assert requests[1][-3:] == ["±0", "±0", "+2.00 pp"]
    assert second.exit_code == 3  # db-latency could not be evaluated
