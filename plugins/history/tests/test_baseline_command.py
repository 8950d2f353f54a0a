"""``perfgate baseline FILE`` against the demo service: the analysis, the report, the history."""

from __future__ import annotations

import json
import sys

import psutil
import pytest

from perfgate.cli import main
from perfgate.testing import free_port
from perfgate_history.store import open_history

demo_app = pytest.importorskip("demo_app")
pytest.importorskip("perfgate_aiohttp_api")


def test_the_baseline_analysis_names_what_to_look_at_first_and_is_kept(tmp_path, capsys):
    port = free_port()
    targets = tmp_path / "targets.yml"
    targets.write_text(f"""
version: 1
history: runs.db
services:
  api:
    url: http://127.0.0.1:{port}
    health: /health
    start: {sys.executable} -m demo_app --port {port}
scenarios:
  load:
    driver: http
    service: api
    executor: constant-vus
    vus: 4
    duration: 4s
    requests:
      - {{name: slow, path: "/api/slow?ms=40"}}
      - {{name: health, path: /health}}
collectors:
  system: {{interval: 250ms}}
targets:
  latency: {{metric: "http.req_duration{{scenario:load}}", critical: p(95) < 5s}}
reporters:
  json: {{}}
""")
    out = tmp_path / "out"
    code = main(["baseline", str(targets), "--output", str(out), "--no-progress"])
    doc = json.loads((out / "baseline.json").read_text())
    # The exit code is the run's: on a busy machine a built-in check (the load generator's
    # own CPU, the driver keeping its schedule) may fail; the analysis is made all the same.
    assert code == doc["exit_code"] in (0, 1), capsys.readouterr().err
    assert doc["run"]["status"] == "completed"
    assert doc["run"]["time_scale"] == 0.25  # a short run: 4 s of load became 1 s
    analysis = doc["details"]["baseline"]
    env = analysis["environment"]
    assert env["memory_bytes"] == psutil.virtual_memory().total
    assert env["cpu_count"] == psutil.cpu_count()
    assert {"perfgate-history", "perfgate-aiohttp-api"} <= \
        {p["distribution"] for p in env["plugins"]}
    api = analysis["services"]["api"]
    assert (api["healthy"], api["status"], api["version"]) == (True, 200, demo_app.__version__)
    assert api["answer_ms"] > 0
    # The 40 ms endpoint is the slowest, by its own measure.
    endpoints = analysis["look_first"]["endpoints"]
    assert [e["endpoint"] for e in endpoints] == ["GET slow", "GET health"]
    assert endpoints[0]["p95_ms"] >= 40 > endpoints[1]["p95_ms"]
    assert {"http", "system", "perfgate", "load"} <= set(analysis["collectors"])
    cpu = next(r["values"] for r in analysis["collectors"]["system"]
               if r["metric"] == "system.cpu")
    assert cpu["avg"]["unit"] == "%" and 0 <= cpu["avg"]["value"] <= cpu["max"]["value"] <= 100
    reqs = [r["values"] for r in analysis["collectors"]["http"]
            if r["metric"].startswith("http.reqs{")]
    assert {r["rate"]["unit"] for r in reqs} == {"/s"}
    assert sum(r["count"]["value"] for r in reqs) == sum(e["requests"] for e in endpoints)
    report = (out / "baseline.md").read_text()
    first = report.split("## Look at first\n\n", 1)[1]
    assert first.startswith("1. Slowest endpoint: `GET slow` in scenario `load`: p(95) ")
    assert "## What each collector saw" in report and "### system" in report
    assert f"| api | http://127.0.0.1:{port}/health | True | 200 |" in report
    # Kept in the history, with the baseline document as its result.
    with open_history(str(tmp_path / "runs.db")) as history:
        runs = history.runs()
        assert [r.id for r in runs] == [doc["run"]["id"]]
        kept = history.documents(runs[0].name, limit=1)[0]
    assert kept["details"]["baseline"] == analysis
