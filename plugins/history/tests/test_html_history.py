"""The html report charts each check over the runs of the history, this run last."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gateplugin  # tests/e2e/gateplugin.py, on the path by conftest.py
import pytest

from perfgate.testing import run_targets

pytest.importorskip("perfgate_html", reason="the html reporter comes with perfgate-html")


def targets(latency: float, history_runs: int = 30) -> str:
    return f"""
        version: 1
        scenarios:
          load: {{driver: synthetic, latency_ms: {latency}, operations: 200}}
        targets:
          latency: {{metric: synthetic.latency, target: p(95) < 65ms, critical: p(95) < 1s}}
        reporters: {{json: {{}}, html: {{history_runs: {history_runs}}}}}
        """


def charts(report: Path) -> list[dict]:
    text = report.read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="perfgate-data">(.*?)</script>',
                     text, re.S)
    assert data is not None
    return json.loads(data.group(1))["charts"]


def test_each_check_is_charted_over_the_earlier_runs_and_this_one(tmp_path):
    url = str(tmp_path / "runs.sqlite")
    ids = []
    for i, latency in enumerate((50, 70, 60)):
        outcome = run_targets(targets(latency), output_dir=tmp_path / "out",
                              plugins=(gateplugin,), history=url)
        ids.append(outcome.result.run["id"])
        assert (tmp_path / "out" / "report.html").is_file(), i
    history = [c for c in charts(tmp_path / "out" / "report.html") if c["axis"] == "run"]
    assert [c["title"] for c in history] == ["latency: p(95)"]
    chart = history[0]
    assert chart["x"] == [1, 2, 3]
    assert chart["lines"][0]["values"] == pytest.approx([50, 70, 60], rel=1e-2)
    assert [label.split()[0] for label in chart["labels"][:2]] == ids[:2]
    assert chart["labels"][2] == f"this run ({ids[2]})"
    assert [(r["level"], r["value"]) for r in chart["rules"]] == [
        ("target", 65), ("critical", 1000)]
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "in the 2 earlier runs of the run history and in this one" in text

    # history_runs: 1 charts the last earlier run only; 0 leaves the section out. (The same
    # output folder: the history keeps runs by the targets file's path.)
    report = tmp_path / "out" / "report.html"
    run_targets(targets(55, history_runs=1), output_dir=tmp_path / "out",
                plugins=(gateplugin,), history=url)
    (chart,) = [c for c in charts(report) if c["axis"] == "run"]
    assert chart["lines"][0]["values"] == pytest.approx([60, 55], rel=1e-2)
    run_targets(targets(55, history_runs=0), output_dir=tmp_path / "out",
                plugins=(gateplugin,), history=url)
    assert not [c for c in charts(report) if c["axis"] == "run"]
    assert 'id="history"' not in report.read_text(encoding="utf-8")


def test_without_earlier_runs_there_is_no_history_section(tmp_path):
    run_targets(targets(50), output_dir=tmp_path, plugins=(gateplugin,),
                history=str(tmp_path / "runs.sqlite"))
    assert 'id="history"' not in (tmp_path / "report.html").read_text(encoding="utf-8")
