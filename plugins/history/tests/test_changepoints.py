"""Change points: synthetic histories with a known shift (found at that run) and of noise
only (none), through the detector, ``perfgate history`` and the ``change-points`` validator."""

from __future__ import annotations

import json
import random

import gateplugin  # tests/e2e/gateplugin.py, on the path by conftest.py
import pytest

from perfgate import Verdict
from perfgate.cli import main
from perfgate.testing import run_targets
from perfgate_history.changepoints import change_points
from perfgate_history.store import Provenance, open_history
from perfgate_history.testing import result_document as document
from perfgate_history.trends import sparkline


def shifted(seed: int, before: int = 20, after: int = 10, level: float = 100,
            jump: float = 0.3, spread: float = 0.02) -> list[float]:
    """``before`` values around ``level``, then ``after`` values ``jump`` higher, each with
    a normal noise of ``spread`` (a share of the level)."""
    r = random.Random(seed)
    return ([level * (1 + r.gauss(0, spread)) for _ in range(before)]
            + [level * (1 + jump + r.gauss(0, spread)) for _ in range(after)])


@pytest.mark.parametrize("seed", range(5))
def test_a_known_shift_is_found_at_its_run(seed):
    found = change_points(shifted(seed, before=20, after=10))
    assert [c.index for c in found] == [20]
    assert found[0].change == pytest.approx(0.3, abs=0.03)
    assert found[0].pvalue < 0.001


@pytest.mark.parametrize("seed", range(5))
def test_noise_alone_has_no_change_point(seed):
    assert change_points(shifted(seed, before=40, after=0, spread=0.05)) == []


def test_a_shift_at_the_latest_run_is_found():
    assert [c.index for c in change_points(shifted(7, before=15, after=1))] == [15]
    assert change_points(shifted(7, before=15, after=1, jump=0.02)) == []  # within noise


def test_sparkline():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5]) == "▅▅"
    assert sparkline([]) == ""


def fill(url: str, values: list[float], name: str = "api.yml",
         metric: str = "http.req_duration") -> list[str]:
    ids = [f"{name}-{i:02d}" for i in range(len(values))]
    with open_history(url) as history:
        for i, value in enumerate(values):
            history.store(document(ids[i], 1000 + i * 60, value, metric=metric), name,
                          Provenance("abc", "main", None))
    return ids


def test_perfgate_history_json_names_the_run_that_starts_each_shift(history_url, capsys):
    ids = fill(history_url, shifted(3, before=20, after=10, level=50))
    code = main(["history", "--history", history_url, "--name", "api.yml", "--format",
                 "json", "--change-points"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc["runs"]] == ids
    latency = next(s for s in doc["series"] if s["check"] == "latency")
    assert [p["run"] for p in latency["points"]] == ids
    assert [c["run"] for c in latency["change_points"]] == [ids[20]]
    assert latency["change_points"][0]["before"] == pytest.approx(50, rel=0.02)
    assert latency["change_points"][0]["after"] == pytest.approx(65, rel=0.02)
    errors = next(s for s in doc["series"] if s["check"] == "errors")
    assert errors["change_points"] == []  # 1% in every run


def test_perfgate_history_table_filters_and_marks_shifts(history_url, capsys):
    ids = fill(history_url, shifted(3, before=20, after=10, level=50))
    assert main(["history", "--history", history_url, "--name", "api.yml", "--check",
                 "latency", "--change-points"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"api.yml: 30 runs in {history_url}\n")
    row = next(line for line in out.splitlines() if line.startswith("latency"))
    assert f"% at {ids[20]}" in row and "+2" in row and "▁" in row and "█" in row
    assert "errors" not in out
    assert main(["history", "--history", history_url, "--name", "api.yml", "--since",
                 "1970-01-01T00:30:00+00:00", "--format", "json"]) == 0
    # Runs start at 1000 + 60·i seconds: from 1800 s on are runs 14 to 29.
    assert len(json.loads(capsys.readouterr().out)["runs"]) == 16


def test_perfgate_history_without_a_history_is_a_usage_error(capsys):
    assert main(["history"]) == 2
    assert "needs a targets file, or --history URL and --name NAME" in capsys.readouterr().err
    assert main(["history", "--history", "x.db", "--name", "n", "--since", "soon"]) == 2


def test_the_validator_fails_the_run_that_starts_a_shift(tmp_path, history_url):
    def run(latency: float, name: str = "api"):
        return run_targets(f"""
            version: 1
            history: {{url: {json.dumps(history_url)}, name: {name}}}
            scenarios:
              load: {{driver: synthetic, latency_ms: {latency:.3f}, operations: 50}}
            targets:
              latency: {{metric: synthetic.latency, critical: p(95) < 1s}}
            validators:
              change-points: {{checks: [latency]}}
            reporters: {{json: {{}}}}
            """, output_dir=tmp_path, plugins=(gateplugin,))

    def shift_check(outcome):
        return next(c for c in outcome.result.checks if c.name == "latency shift")

    first = run(50, name="new")
    assert shift_check(first).verdict is Verdict.SKIP  # nothing to compare with yet
    # Twelve earlier runs around 50 ms, as kept by earlier runs of the file.
    for name in ("api", "other"):
        fill(history_url, shifted(11, before=12, after=0, level=50), name=name,
             metric="synthetic.latency")
    same = run(50.4)
    assert shift_check(same).verdict is Verdict.PASS
    assert shift_check(same).message == "no shift starts at this run (over 13 runs)"
    slow = run(65)
    check = shift_check(slow)
    assert check.verdict is Verdict.FAIL and slow.exit_code == 1
    assert check.message.startswith("this run starts a shift for the worse: p(95) ")
    assert "(+30." in check.message and "over 14 runs" in check.message
    faster = run(35, name="other")  # a shift, but for the better: p(95) < 1s says lower is
    assert shift_check(faster).verdict is Verdict.PASS  # better
    assert "for the better" in shift_check(faster).message
