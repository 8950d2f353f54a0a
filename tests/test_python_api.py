"""perfgate from Python: ``perfgate.run`` and ``perfgate.check``, and docs/python-api.md's
example run as it is written there, against the ground-truth server it starts."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

import perfgate
from perfgate.testing import free_port

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


def blocks(language: str) -> list[str]:
    return [code for lang, code in _FENCE.findall(DOC.read_text()) if lang == language]


@pytest.fixture
def api_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """``$API_PORT`` free, and this Python first on ``PATH`` (the targets' ``start:``)."""
    port = free_port()
    monkeypatch.setenv("API_PORT", str(port))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return port


def test_the_documented_example_runs_as_written(api_port: int, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    [targets] = blocks("yaml")
    [script] = blocks("python")
    (tmp_path / "targets.yml").write_text(targets)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        exec(compile(script, str(DOC), "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    assert exited.value.code == 0, out
    assert "pass  latency: p(95) = " in out and "pass  errors: " in out
    written = json.loads((tmp_path / "reports" / "result.json").read_text())
    assert written["exit_code"] == 0 and written["run"]["time_scale"] == 0.5
    [scenario] = written["scenarios"]
    assert scenario["finished"] - scenario["started"] == pytest.approx(2.0, abs=0.5)
    count = int(re.search(r"^(\d+) requests, p\(99\) = ", out, re.M).group(1))  # type: ignore[union-attr]
    assert count > 100  # 5 VUs for 2 s at about 10 ms a request


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(textwrap.dedent(text))
    return path


GATE = """\
    version: "1"
    services:
      api:
        url: http://127.0.0.1:${env:API_PORT}
        start: python -m perfgate_aiohttp_api.groundtruth --port ${env:API_PORT}
        health: /health
    scenarios:
      load:
        driver: http
        service: api
        executor: constant-vus
        vus: 2
        duration: 1s
        requests: [{name: slow, path: /delay/20}]
    targets:
      latency: {metric: "http.req_duration{scenario:load}", critical: p(95) < 5ms}
    reporters:
      json: {path: result.json}
    """


def test_run_returns_a_failed_gate_as_a_result_and_never_exits(api_port: int,
                                                               tmp_path: Path) -> None:
    result = perfgate.run(write(tmp_path, GATE), output_dir=tmp_path / "out")
    assert isinstance(result, perfgate.ResultDocument)
    assert (result.exit_code, result.verdict, result.run["status"]) == (1, "fail", "completed")
    [check] = [c for c in result.checks if c.name == "latency"]
    assert check.verdict is perfgate.Verdict.FAIL and check.measured >= 20.0
    assert json.loads((tmp_path / "out" / "result.json").read_text())["exit_code"] == 1


def test_run_raises_config_errors_before_starting_anything(api_port: int,
                                                           tmp_path: Path) -> None:
    path = write(tmp_path, GATE)
    with pytest.raises(perfgate.ConfigError, match="--only 'lod': no such scenario"):
        perfgate.run(path, only=["lod"], output_dir=tmp_path / "out")
    with pytest.raises(perfgate.ConfigError, match="fail_on: expected 'fail' or 'warn'"):
        perfgate.run(path, fail_on="never", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written
    with pytest.raises(perfgate.ConfigError, match=r"nope\.json"):
        perfgate.run(path, baseline=tmp_path / "nope.json", output_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "result.json").exists()  # no service started, no run


def test_check_returns_every_problem_with_file_line_and_key(api_port: int,
                                                            tmp_path: Path) -> None:
    assert perfgate.check(write(tmp_path, GATE)) == []  # version "1", a string, is fine
    bad = write(tmp_path, GATE.replace("vus: 2", "vus: -2").replace("duration: 1s",
                                                                    "duration: 1"))
    problems = perfgate.check(bad)
    assert all(isinstance(p, perfgate.ConfigError) for p in problems)
    text = [str(p) for p in problems]
    assert any(t.startswith(f"{bad}:12:10: scenarios.load.vus: ") for t in text), text
    assert f"{bad}:13:15: scenarios.load.duration: 1 has no unit: write 1s for seconds or " \
        "1ms for milliseconds (k6 reads a bare number as milliseconds, so perfgate asks)" in text
    assert [str(p) for p in perfgate.check(tmp_path / "missing.yml")] == [
        f"{tmp_path / 'missing.yml'}: cannot read the targets file: No such file or directory"]
