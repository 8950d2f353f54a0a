"""The example targets file: the enhanced k6 suite on the demo service, and the same targets
passing with ``driver: http`` in place of ``driver: k6``."""

from __future__ import annotations

import copy
import importlib.util
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from perfgate import Verdict
from perfgate.testing import run_targets
from perfgate_k6_driver.binary import find_k6

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "k6" / "targets.yml"
SUITE = REPO / "k6" / "enhanced-load-tests.js"
SCENARIOS = ("smoke", "load", "stress", "spike", "endurance", "api_throughput",
             "database_stress")

#: The http driver's version of the example's two scenarios: the same requests by name.
HTTP_SCENARIOS = {
    "journeys": {
        "driver": "http", "service": "api", "executor": "ramping-vus",
        "stages": [{"duration": "1m", "target": 20}, {"duration": "8m", "target": 20},
                   {"duration": "1m", "target": 0}],
        "requests": [
            {"name": "home", "path": "/", "weight": 2, "think_time": "200ms",
             "checks": {"status": 200}},
            {"name": "records", "path": "/api/records", "query": {"limit": 20}, "weight": 3,
             "think_time": "200ms", "checks": {"status": 200}},
            {"name": "record", "path": "/api/records/7", "weight": 3, "think_time": "200ms",
             "checks": {"status": 200}},
            {"name": "health", "path": "/health", "think_time": "200ms",
             "checks": {"status": 200}},
        ],
        "flows": [{"name": "profile", "steps": [
            {"name": "login", "method": "POST", "path": "/api/login",
             "json": {"username": "user-1", "password": "demo"},
             "capture": {"token": "token"}, "checks": {"status": 200}},
            {"name": "me", "path": "/api/me", "headers": {"Authorization": "Bearer ${token}"},
             "checks": {"status": 200}},
        ]}],
    },
    "throughput": {
        "driver": "http", "service": "api", "after": "journeys",
        "executor": "constant-arrival-rate", "rate": 600, "duration": "5m",
        "pre_allocated_vus": 50, "max_vus": 200,
        "requests": [{"name": "record", "path": "/api/records/3", "weight": 6,
                      "checks": {"status": 200}},
                     {"name": "records", "path": "/api/records", "weight": 3,
                      "checks": {"status": 200}},
                     {"name": "health", "path": "/health", "checks": {"status": 200}}],
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example(tmp_path: Path) -> dict:
    """The example file on a free port, with the suite's absolute path (it moves to tmp_path)."""
    text = EXAMPLE.read_text().replace("8010", str(free_port()))
    doc = yaml.safe_load(text)
    for scenario in doc["scenarios"].values():
        scenario["script"] = str(SUITE)
    doc["reporters"] = {"json": {"path": "result.json"}}
    return doc


def gate(doc: dict, folder: Path, time_scale: float = 0.01):
    folder.mkdir()
    (folder / "targets.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_targets(folder / "targets.yml", output_dir=folder, time_scale=time_scale)


def test_the_suite_defines_every_scenario_of_the_plan():
    k6 = find_k6().path
    expected = {"smoke": (1, 60), "load": (100, 600), "stress": (500, 900),
                "spike": (1000, 300), "endurance": (200, 3600)}
    for name in SCENARIOS:
        out = subprocess.run([k6, "inspect", "-e", f"K6_SCENARIO={name}", str(SUITE)],
                             capture_output=True, text=True, timeout=60, check=True)
        options = yaml.safe_load(out.stdout)
        [(key, scenario)] = options["scenarios"].items()
        assert key == name
        thresholds = options["thresholds"]
        assert thresholds["http_req_duration"] == ["p(95)<200"]
        assert thresholds["http_req_failed"] == ["rate<0.05"]
        if name in expected:
            peak, length = expected[name]
            assert options["vus"] == peak
            stages = scenario.get("stages") or [{"target": scenario["vus"],
                                                 "duration": scenario["duration"]}]
            assert max(s["target"] for s in stages) == peak
            assert sum(_seconds(s["duration"]) for s in stages) == length
    throughput = subprocess.run(
        [k6, "inspect", "-e", "K6_SCENARIO=api_throughput", "-e", "TARGET_RPS=750", str(SUITE)],
        capture_output=True, text=True, timeout=60, check=True)
    scenario = yaml.safe_load(throughput.stdout)["scenarios"]["api_throughput"]
    assert (scenario["executor"], scenario["rate"]) == ("constant-arrival-rate", 750)
    bad = subprocess.run([k6, "inspect", "-e", "K6_SCENARIO=nope", str(SUITE)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "not a scenario of this suite" in bad.stderr + bad.stdout


def _seconds(text: str) -> float:
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * units[char]
            number = ""
    return total


def test_the_example_passes_with_k6_and_with_http(tmp_path):
    if importlib.util.find_spec("demo_app") is None:
        pytest.skip("the demo service (perfgate-demo-app) is not installed")
    if importlib.util.find_spec("perfgate_aiohttp_api") is None:
        pytest.skip("the http driver (perfgate-aiohttp-api) is not installed")
    with_k6 = example(tmp_path)
    with_http = copy.deepcopy(with_k6)
    with_http["scenarios"] = HTTP_SCENARIOS
    assert with_http["targets"] == with_k6["targets"]  # the same targets, untouched

    k6_outcome = gate(with_k6, tmp_path / "k6")
    http_outcome = gate(with_http, tmp_path / "http")

    for outcome in (k6_outcome, http_outcome):
        assert outcome.result.errors == [], outcome.result.errors
        assert outcome.exit_code == 0, [(c.name, c.verdict.value, c.message)
                                        for c in outcome.result.checks
                                        if c.verdict not in (Verdict.PASS, Verdict.WARN)]
        verdicts = {c.name: c.verdict for c in outcome.result.checks if c.group == "targets"}
        assert set(verdicts) == set(with_k6["targets"])
        assert all(v in (Verdict.PASS, Verdict.WARN) for v in verdicts.values()), verdicts
        assert verdicts["error-rate"] is Verdict.PASS
    # k6 ran the suite: its thresholds are checks, its custom metrics were judged.
    sources = {c.name: c for c in k6_outcome.result.checks if c.source == "k6"}
    assert "journeys.k6 http_req_duration: p(95)<200" in sources
    assert "throughput.k6 http_reqs: rate>500" in sources
    names = {c.name for c in k6_outcome.result.checks}
    assert {"db-query-time", "api-errors"} <= names
