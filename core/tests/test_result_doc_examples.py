"""The Python examples of docs/result-schema.md run, on result documents of real runs.

Two runs of the ``synthetic`` driver with known latencies are written where the examples
look (``reports/result.json``, ``run-a/result.json``, ``run-b/result.json``); each example
runs in that folder, and what it computes is checked against the known numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from perfgate import ResultDocument, Verdict
from perfgate.testing import run_targets

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
EXAMPLES = _FENCE.findall((ROOT / "docs" / "result-schema.md").read_text(encoding="utf-8"))


def targets(latency_ms: float, path: str) -> str:
    return f"""\
version: 1
scenarios:
  load: {{driver: synthetic, operations: 100, latency_ms: {latency_ms}}}
targets:
  latency: {{metric: synthetic.latency, critical: p(95) < 100ms}}
reporters: {{json: {{path: {path}}}}}
"""


@pytest.fixture
def results(test_plugins, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for latency, path in ((10.0, "reports/result.json"), (10.0, "run-a/result.json"),
                          (30.0, "run-b/result.json")):
        outcome = run_targets(targets(latency, path), output_dir=tmp_path)
        assert outcome.exit_code == 0
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_example(code: str) -> dict[str, Any]:
    scope: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, "docs/result-schema.md", "exec"), scope)
    return scope


def test_the_doc_has_its_three_examples():
    assert len(EXAMPLES) == 3


def test_validating_and_loading_a_result(results):
    scope = run_example(EXAMPLES[0])
    result = scope["result"]
    assert isinstance(result, ResultDocument)
    assert result.verdict is Verdict.PASS
    assert result.checks[0].verdict is Verdict.PASS
    assert scope["schema"]["$schema"]


def test_merging_two_runs_with_perfgate(results, capsys):
    # The doc merges http.req_duration; the synthetic driver's latency is the same kind.
    run_example(EXAMPLES[1].replace('"http.req_duration"', '"synthetic.latency"'))
    count, p95, avg = capsys.readouterr().out.split()
    assert float(count) == 200  # 100 operations per run
    assert float(avg) == pytest.approx(20.0, rel=1e-6)  # half at 10 ms, half at 30 ms
    assert float(p95) == pytest.approx(30.0, rel=1e-3)


def test_merging_with_the_hdrhistogram_package_alone(results):
    merged = run_example(EXAMPLES[2])["merged_percentile"]
    paths = ["run-a/result.json", "run-b/result.json"]
    assert merged(paths, "synthetic.latency", 95) == pytest.approx(30.0, rel=1e-3)
    assert merged(paths, "synthetic.latency", 25) == pytest.approx(10.0, rel=1e-3)
