"""The demo targets file: one file in two places, the plan's numbers, and a real gate run."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

PACKAGED = Path(str(files("demo_app") / "targets.yml"))
EXAMPLE = Path(__file__).resolve().parents[2] / "demo" / "targets.yml"

#: The performance plan's targets and critical thresholds.
PLAN_TARGETS = {
    "api-latency": {"metric": "http.req_duration{scenario:load}",
                    "target": "p(95) < 200ms", "critical": "p(95) < 1000ms"},
    "error-rate": {"metric": "http.req_failed", "target": "rate < 5%", "critical": "rate < 20%"},
    "throughput": {"metric": "http.reqs", "target": "rate > 500", "critical": "rate > 100"},
    # The plan's CPU limits, judged on the service's own processes (percent of one core).
    "cpu": {"metric": "service.cpu{service:api}", "target": "max < 80%",
            "critical": "max < 95%"},
    "memory": {"metric": "service.memory{service:api}", "target": "max < 256MB",
               "critical": "max < 512MB"},
}


def test_the_example_is_a_link_to_the_packaged_file():
    assert EXAMPLE.is_symlink()
    assert os.readlink(EXAMPLE) == "../demo_app/src/demo_app/targets.yml"
    assert EXAMPLE.read_bytes() == PACKAGED.read_bytes()


def test_the_targets_are_the_plans():
    doc = yaml.safe_load(PACKAGED.read_text())
    assert doc["targets"] == PLAN_TARGETS
    service = doc["services"]["api"]
    assert service["url"] == "http://127.0.0.1:8000"
    assert service["start"] == "python -m demo_app --port 8000"
    assert service["health"] == "/health"
    scenario = doc["scenarios"]["load"]
    assert (scenario["driver"], scenario["executor"], scenario["vus"]) == \
        ("http", "constant-vus", 100)
    assert [r["path"] for r in scenario["requests"]] == ["/health", "/api/records"]
    assert {r["think_time"] for r in scenario["requests"]} == {"100ms"}


def _http_driver_installed() -> None:
    if importlib.util.find_spec("perfgate_aiohttp_api") is None:
        pytest.skip("the http driver (perfgate-aiohttp-api) is not installed")


def test_perfgate_accepts_the_file():
    _http_driver_installed()
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost

    targets = load_targets(PACKAGED, PluginHost.load())
    assert set(targets.model.targets) == set(PLAN_TARGETS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_demo_gate_runs_against_the_demo_service(tmp_path):
    """The whole demo at a tenth of its length: perfgate starts the service, loads it, stops it."""
    _http_driver_installed()
    from perfgate.testing import run_targets

    text = PACKAGED.read_text().replace("8000", str(_free_port()))
    (tmp_path / "targets.yml").write_text(text)
    outcome = run_targets(tmp_path / "targets.yml", output_dir=tmp_path / "out",
                          time_scale=0.1)
    checks = {c.name: c for c in outcome.result.checks if c.group == "targets"}
    verdicts = {name: c.verdict.value for name, c in checks.items()}
    for name in ("api-latency", "error-rate", "throughput", "cpu", "memory"):
        assert verdicts[name] == "pass", (name, checks[name])
    assert checks["throughput"].measured > 500
    assert checks["error-rate"].measured == 0
    # The service's CPU, not the host's: other test runs on the machine are not in it.
    assert 0 < checks["cpu"].measured < 95
    # Only the load generator's own health, measured in the same run, may fail the gate: a
    # machine so busy that its event loop ran behind schedule.
    health = next(c for c in outcome.result.checks if c.name == "load.driver-health")
    assert outcome.exit_code == (1 if health.verdict.value == "fail" else 0)
    assert outcome.result.metric("system.cpu") is not None  # the host is still measured
    assert (tmp_path / "out" / "reports" / "result.json").exists()

    log = (tmp_path / "out" / "reports" / "demo_app.log").read_text()
    db = Path(re.search(r"database (\S+) \(temporary", log).group(1))
    assert "demo_app: stopped" in log
    assert not db.parent.exists()
