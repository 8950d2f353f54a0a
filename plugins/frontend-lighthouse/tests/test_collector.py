"""The collector in real runs: verdicts on real pages, at rest and under load, missing tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perfgate_aiohttp_api
import perfgate_frontend_lighthouse
import perfgate_markdown
from perfgate import ConfigError
from perfgate.testing import free_port, run_targets
from perfgate_frontend_lighthouse import testpages

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "frontend" / "targets.yml"

# The plan's frontend targets, and Lighthouse's "good" Core Web Vitals thresholds.
TARGETS = """
          {page}-score:
            {{metric: "frontend.performance_score{{page:{page}}}", target: value >= 0.9,
              critical: value >= 0.5}}
          {page}-lcp:
            {{metric: "frontend.lcp{{page:{page}}}", target: value < 2500ms,
              critical: value < 3000ms}}
          {page}-tbt:
            {{metric: "frontend.tbt{{page:{page}}}", target: value < 200ms,
              critical: value < 300ms}}
          {page}-cls:
            {{metric: "frontend.cls{{page:{page}}}", target: value < 0.1, critical: value < 0.25}}
          {page}-load:
            {{metric: "frontend.load_time{{page:{page}}}", target: value < 3s,
              critical: value < 5s}}"""


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch, perfgate_plugin):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    perfgate_plugin(perfgate_frontend_lighthouse)
    perfgate_plugin(perfgate_markdown)
    perfgate_plugin(perfgate_aiohttp_api)


def checks(outcome):
    return {c.name: c for c in outcome.result.checks}


def test_the_slow_page_fails_on_lcp_and_tbt(tools, pages, tmp_path):
    """(The demo page passing the same targets: the example's test below.)"""
    outcome = run_targets(f"""
        version: 1
        collectors:
          frontend-lighthouse:
            pages: {{slow: "{pages.url('/slow')}"}}
            presets: [desktop]
            runs: 1
        targets:{TARGETS.format(page="slow")}
          dom-size: {{metric: "frontend.audit.dom-size{{page:slow}}", target: value < 800}}
        reporters: {{json: {{path: result.json}}, markdown: {{path: report.md}}}}
        """, output_dir=tmp_path)
    by_name = checks(outcome)
    slow = {n: c for n, c in by_name.items() if n.startswith("slow")}
    assert slow["slow-lcp"].verdict.value == "fail"
    assert slow["slow-tbt"].verdict.value == "fail"
    assert slow["slow-score"].verdict.value in ("warn", "fail")
    # Plausible: the LCP element is the image answered after 2.5 s; TBT is the one long task
    # of 1.2 s less 50 ms as Lighthouse simulates it on desktop (no CPU slowdown).
    assert testpages.IMAGE_DELAY * 1000 <= slow["slow-lcp"].measured <= 15_000
    assert 300 <= slow["slow-tbt"].measured <= 2 * testpages.LONG_TASK_MS
    assert slow["slow-lcp"].unit == "ms"
    assert by_name["dom-size"].verdict.value == "pass"  # an audit a target names is recorded
    assert outcome.exit_code == 1
    details = outcome.result.details["frontend-lighthouse"]
    assert details["tools"]["lighthouse"]["version"] == tools.lighthouse.version
    assert details["tools"]["chromium"]["version"] == tools.chromium.version
    [slow_page] = details["pages"]
    assert (slow_page["preset"], slow_page["when"]) == ("desktop", "before")
    assert slow_page["report"] == "lighthouse/frontend-lighthouse/before-slow-desktop-1.report.html"
    assert (tmp_path / slow_page["report"]).stat().st_size > 10_000
    assert slow_page["runs"][0]["benchmark_index"] > 0
    # Audits no target names are not recorded; the benchmark index is, with the page's tags.
    names = {m["name"] for m in outcome.result.metrics}
    assert "frontend.audit.bootup-time" not in names
    assert "frontend.benchmark_index" in names
    report = (tmp_path / "report.md").read_text()
    assert "(lighthouse/frontend-lighthouse/before-slow-desktop-1.report.html)" in report


def test_the_example_measures_the_demo_page_at_rest_and_under_load_in_one_run(tools, tmp_path):
    """examples/frontend/targets.yml for real, one Lighthouse run per page, load 45 s."""
    outcome = run_targets(EXAMPLE, output_dir=tmp_path, time_scale=0.75,
                          environ={"DEMO_PORT": str(free_port()), "LIGHTHOUSE_RUNS": "1"})
    by_name = checks(outcome)
    assert all(c.measured is not None for c in by_name.values()), [
        (c.name, c.message) for c in outcome.result.checks]
    assert outcome.result.errors == []
    [rest] = outcome.result.details["at-rest"]["pages"]
    [under] = outcome.result.details["under-load"]["pages"]
    assert (rest["when"], under["when"], under["scenario"]) == ("before", "during", "load")
    [scenario] = outcome.result.scenarios
    # At rest: finished before the load began. Under load: wholly inside the load's window,
    # opened after the example's delay of 5 s.
    assert rest["finished"] <= scenario["started"]
    assert scenario["started"] + 5 <= under["started"]
    assert under["finished"] <= scenario["finished"]
    assert under["values"]["frontend.lcp"] > 0 and rest["values"]["frontend.lcp"] > 0
    # The core cut the under-load numbers to the scenario's window: only they are in it.
    cut = {m["tags"].get("instance") for m in outcome.result.metrics
           if m["name"] == "frontend.performance_score" and m["tags"].get("scenario") == "load"}
    assert cut == {"under-load"}
    assert by_name["score-under-load"].measured == under["values"]["frontend.performance_score"]
    assert by_name["score-at-rest"].measured == rest["values"]["frontend.performance_score"]
    # A target without tags judges both: the worse of the two.
    assert by_name["lcp"].measured == max(rest["values"]["frontend.lcp"],
                                          under["values"]["frontend.lcp"])
    # Both show in the report, side by side in one table, each linking its own report.
    report = (tmp_path / "reports" / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| `home`")]
    assert len(rows) == 2 and "| before |" in rows[0] and "| during load |" in rows[1], rows
    assert "(lighthouse/at-rest/before-home-desktop-1.report.html)" in rows[0]
    assert "(lighthouse/under-load/during-home-desktop-1.report.html)" in rows[1]
    # The demo page is small and fast: at rest it meets the plan's targets and Google's
    # "good" Web Vitals (under load a busy machine may slow it: those verdicts are the
    # page's, not the test's).
    at_rest = rest["values"]
    assert at_rest["frontend.performance_score"] >= 0.9, at_rest
    assert at_rest["frontend.lcp"] < 2500 and at_rest["frontend.tbt"] < 200, at_rest
    assert at_rest["frontend.cls"] < 0.1 and at_rest["frontend.load_time"] < 3000, at_rest
    assert by_name["score-at-rest"].verdict.value == "pass"
    assert outcome.exit_code in (0, 1)


def test_a_missing_chromium_or_lighthouse_is_an_error_verdict(tmp_path, pages):
    outcome = run_targets(f"""
        version: 1
        collectors:
          no-chromium: {{type: frontend-lighthouse, pages: ["{pages.url('/fast')}"],
                         chromium: {tmp_path}/no-such-chromium}}
          no-lighthouse: {{type: frontend-lighthouse, pages: ["{pages.url('/fast')}"],
                           lighthouse: {tmp_path}/no-such-lighthouse}}
        targets:
          a: {{metric: "frontend.lcp{{instance:no-chromium}}", target: value < 2500ms}}
          b: {{metric: "frontend.performance_score{{instance:no-lighthouse}}",
              target: value >= 0.9}}
        reporters: {{json: {{path: result.json}}}}
        """, output_dir=tmp_path)
    a, b = outcome.result.checks
    assert (a.verdict.value, b.verdict.value) == ("error", "error")
    assert "no-such-chromium' is not an executable file" in a.message
    assert "apt-get install chromium" in a.message
    assert "python -m perfgate_frontend_lighthouse install" in b.message
    assert outcome.exit_code == 3
    assert json.loads((tmp_path / "result.json").read_text())["exit_code"] == 3


@pytest.mark.parametrize(("options", "message"), [
    ("pages: [/], settings: {throttlingMethd: provided}",
     "settings.throttlingMethd: unknown key 'throttlingMethd'; did you mean 'throttlingMethod'"),
    ("pages: [/]", "pages given as paths need service:"),
    ('pages: ["http://example.com/"]', "only loopback and hosts listed under allow_hosts:"),
    ('pages: ["http://127.0.0.1/"], chrome_flags: [--headless]',
     "--headless conflicts with --headless=new"),
    ('pages: ["http://127.0.0.1/"], presets: [tablet]',
     "presets[0]: Input should be 'mobile' or 'desktop' (got 'tablet')"),
])
def test_wrong_options_are_file_errors(options, message):
    with pytest.raises(ConfigError) as error:
        run_targets(f"""
            version: 1
            collectors:
              frontend-lighthouse: {{{options}}}
            """)
    assert message in str(error.value)


@pytest.mark.parametrize(("options", "message"), [
    ("when: during", "when: during is perfgate's own key now: give this collector during: "
                     "<scenario>"),
    ("when: before, during: load", "when: and during: exclude each other"),
    ("delay: 5s", "delay: is for a collector with during: <scenario>"),
])
def test_when_during_and_delay_are_checked_against_perfgates_during(options, message):
    with pytest.raises(ConfigError) as error:
        run_targets(f"""
            version: 1
            scenarios:
              load: {{driver: http, url: "http://127.0.0.1:9", executor: constant-vus,
                      vus: 1, duration: 1s, requests: [{{path: /}}]}}
            collectors:
              page: {{type: frontend-lighthouse, pages: ["http://127.0.0.1:9/"], {options}}}
            """)
    assert message in str(error.value)
    assert "collectors.page" in str(error.value)
