"""The reporter writes its file where the options say, with or without a baseline."""

from __future__ import annotations

from perfgate.testing import run_context
from perfgate_html import HtmlReporter, render


def test_writes_the_report_under_the_output_folder(result, tmp_path):
    context = run_context(output_dir=tmp_path)
    HtmlReporter(HtmlReporter.Config(path="reports/perf.html"), context).report(result)
    assert (tmp_path / "reports" / "perf.html").read_text(encoding="utf-8") == render(result)
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["perf.html"]  # no temp left


def test_a_baseline_that_cannot_be_read_is_said_in_the_report(result, tmp_path, parse):
    context = run_context(output_dir=tmp_path, targets_path=tmp_path / "targets.yml")
    reporter = HtmlReporter(HtmlReporter.Config(baseline="missing.json"), context)
    reporter.report(result)
    text = "".join(parse((tmp_path / "report.html").read_text()).text)
    assert "No baseline comparison: cannot read the baseline" in text
    assert reporter.errors and "missing.json" in reporter.errors[0]


def test_the_title_is_the_headline_and_the_page_title(result, tmp_path, parse):
    context = run_context(output_dir=tmp_path)
    HtmlReporter(HtmlReporter.Config(title="checkout <api>"), context).report(result)
    text = (tmp_path / "report.html").read_text()
    assert "<title>checkout &lt;api&gt;: FAIL</title>" in text
    assert "checkout <api>: FAIL" in "".join(parse(text).text)
