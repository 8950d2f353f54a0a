"""Runs kept in the history, and baselines from it, with the synthetic driver's known numbers
(tests/e2e/gateplugin.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path

import gateplugin  # tests/e2e/gateplugin.py, on the path by conftest.py
import pytest

from perfgate import Verdict
from perfgate.testing import run_targets
from perfgate_history.store import open_history


def targets(latency: float, history: str = "", validators: str = "", jitter: float = 0,
            seed: int = 0) -> str:
    return f"""
        version: 1
        {history}
        scenarios:
          load: {{driver: synthetic, latency_ms: {latency}, operations: 200,
                  jitter_ms: {jitter}, seed: {seed}}}
        targets:
          latency: {{metric: synthetic.latency, critical: p(95) < 1s,
                     baseline: "p(95) <= +10%"}}
        {validators}
        reporters: {{json: {{}}}}
        """


def run(tmp_path: Path, name: str, latency: float, url: str, **options):
    return run_targets(targets(latency, **options), output_dir=tmp_path / name,
                       plugins=(gateplugin,), history=url)


def baseline_check(outcome):
    return next(c for c in outcome.result.checks if c.name == "latency vs baseline")


def test_every_run_is_kept_with_where_it_came_from(tmp_path, history_url):
    first = run(tmp_path, "a", 50, history_url)
    second = run(tmp_path, "a", 51, history_url)  # the same targets file
    assert first.exit_code == second.exit_code == 0
    details = second.result.details["history"]
    assert (details["git_commit"], details["git_branch"], details["ci_run_id"]) == \
        ("c0ffee", "main", "42")
    with open_history(history_url) as history:
        runs = history.runs(details["name"])
        assert [r.id for r in runs] == [second.result.run["id"], first.result.run["id"]]
        assert (runs[0].git_commit, runs[0].git_branch, runs[0].ci_run_id) == \
            ("c0ffee", "main", "42")
        latency = [p.measured for p in history.points(details["name"])
                   if p.name == "latency"]
        assert latency == pytest.approx([50, 51], rel=1e-3)
        stored = history.documents(details["name"], limit=1)[0]
    assert stored["run"]["id"] == second.result.run["id"]
    assert stored["details"]["history"] == details
    # The name is the targets file's path (outside a git repository, its absolute path).
    assert details["name"] == str((tmp_path / "a" / "targets.yml").resolve())


def test_baseline_against_the_last_runs_of_the_history(tmp_path, history_url):
    history = f"history: {{url: {json.dumps(history_url)}, name: api}}"
    validators = "validators: {baseline: {against: history, runs: 3}}"
    first = run_targets(targets(50, history, validators), output_dir=tmp_path / "0",
                        plugins=(gateplugin,))
    assert baseline_check(first).verdict is Verdict.SKIP
    assert baseline_check(first).message == "no earlier run in the history"
    for i, latency in enumerate((50, 52, 51)):
        run_targets(targets(latency, history, validators), output_dir=tmp_path / f"{i + 1}",
                    plugins=(gateplugin,))
    slow = run_targets(targets(60, history, validators), output_dir=tmp_path / "slow",
                       plugins=(gateplugin,))
    check = baseline_check(slow)
    assert check.verdict is Verdict.FAIL and slow.exit_code == 1
    # The last 3 runs (52, 51 and 50 ms) merged: their p(95) is 52 ms; their own values
    # spread from 50 to 52 ms, which is the baseline's interval.
    assert check.target.limit == pytest.approx(52 * 1.1, rel=1e-3)
    assert "baseline 52.00ms [50.00ms, 52.00ms] over 3 runs" in check.message
    # The slow run failed: it is kept, but no baseline is made of it.
    again = run_targets(targets(51, history, validators), output_dir=tmp_path / "again",
                        plugins=(gateplugin,))
    assert baseline_check(again).verdict is Verdict.PASS
    assert "over 3 runs" in baseline_check(again).message
    with open_history(history_url) as store:
        assert len(store.runs("api")) == 6


def test_retention_applies_after_each_run(tmp_path, history_url):
    history = f"history: {{url: {json.dumps(history_url)}, name: api, keep_runs: 2}}"
    ids = [run_targets(targets(50 + i, history), output_dir=tmp_path / str(i),
                       plugins=(gateplugin,)).result.run["id"] for i in range(4)]
    with open_history(history_url) as store:
        assert [r.id for r in store.runs("api")] == ids[:-3:-1]


def test_on_missing_baseline_fail_fails_the_first_run(tmp_path, history_url):
    outcome = run(tmp_path, "a", 50, history_url, validators=(
        "validators: {baseline: {against: history, on_missing_baseline: fail}}"))
    assert baseline_check(outcome).verdict is Verdict.FAIL
    assert outcome.exit_code == 1


def test_a_history_that_cannot_be_written_breaks_the_run_and_the_reports_say_so(tmp_path):
    bad = tmp_path / "runs.db"
    bad.write_bytes(b"not a database at all " * 100)
    outcome = run(tmp_path, "a", 50, str(bad))
    assert outcome.exit_code == 3
    problems = [e["message"] for e in outcome.result.errors]
    assert any(f"history {bad} is not a SQLite database" in m for m in problems), problems
    written = json.loads((tmp_path / "a" / "result.json").read_text())
    assert written["exit_code"] == 3 and written["errors"]
    assert bad.read_bytes() == b"not a database at all " * 100
