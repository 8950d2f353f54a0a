"""The demo's targets file passes with ``driver: http`` and, changing only that key, with
``driver: locust``: the same scenario keys, the same targets, the same verdicts."""

from __future__ import annotations

import copy
import socket
from pathlib import Path

import yaml

from perfgate import Verdict
from perfgate.testing import run_targets

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "examples" / "demo" / "targets.yml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gate(doc: dict, folder: Path):
    folder.mkdir()
    (folder / "targets.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_targets(folder / "targets.yml", output_dir=folder, time_scale=0.2)


def test_the_demo_passes_with_http_and_with_locust(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "")
    with_http = yaml.safe_load(DEMO.read_text().replace("8000", str(free_port())))
    with_http["reporters"] = {"json": {"path": "result.json"}}
    with_http["services"]["api"].pop("log", None)
    # Every target of the demo is judged, the service's CPU and memory too: they are the
    # demo service's own processes, whatever else the shared test machine runs.
    with_locust = copy.deepcopy(with_http)
    with_locust["scenarios"]["load"]["driver"] = "locust"
    assert with_locust["targets"] == with_http["targets"]

    outcomes = {"http": gate(with_http, tmp_path / "http"),
                "locust": gate(with_locust, tmp_path / "locust")}
    for driver, outcome in outcomes.items():
        result = outcome.result
        assert result.errors == [], (driver, result.errors)
        assert outcome.exit_code == 0, (driver, [f"{c.name} {c.verdict} {c.message}"
                                                 for c in result.checks])
        verdicts = {c.name: c.verdict for c in result.checks if c.group == "targets"}
        assert set(verdicts) == set(with_http["targets"])
        assert all(v in (Verdict.PASS, Verdict.WARN) for v in verdicts.values()), verdicts
        assert verdicts["error-rate"] is Verdict.PASS
        assert result.metric_set().combined("http.reqs").aggregate("count") > 500
    locust = outcomes["locust"].result
    names = {c.name for c in locust.checks}
    assert {"load.locust-workers", "load.locust-exceptions", "load.driver-health"} <= names
    recorded = {m.tags.get("name") for m in locust.metric_set().select("http.reqs")}
    assert recorded == {"health", "records"}
