"""An engine that is missing, or stops mid-run: error verdicts for these checks only."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

import perfgate_docker_resources
from perfgate import DriverScenario, Kind, LoadDriver, MetricInfo, MetricSet, hookimpl
from perfgate.testing import run_targets
from perfgate_docker_resources.testing import BUSY_LOOP, DockerEngine, stop_dockerd


class WaitScenario(DriverScenario):
    seconds: float = 1.0


class WaitDriver(LoadDriver[WaitScenario]):
    """Waits ``seconds``, running ``during`` on a thread meanwhile; records one iteration."""

    name = "wait"
    during: ClassVar[Any] = None

    @classmethod
    def produces(cls, config: Any) -> list[MetricInfo]:
        return [MetricInfo("wait.iterations", Kind.COUNTER)]

    def run(self) -> MetricSet:
        helper = threading.Thread(target=WaitDriver.during or (lambda: None), daemon=True)
        helper.start()
        self.context.wait(self.config.seconds)
        helper.join(timeout=60)
        metrics = MetricSet()
        metrics.counter("wait.iterations").add(1)
        return metrics


class WaitPlugin:
    @staticmethod
    @hookimpl
    def perfgate_register_components(register: Any) -> None:
        register(WaitDriver)


def targets(host: str, seconds: float) -> str:
    return f"""
        version: 1
        scenarios:
          load: {{driver: wait, seconds: {seconds}}}
        collectors:
          docker-resources: {{host: "{host}", interval: 200ms, containers: ["pg-lost-*"]}}
        targets:
          container-cpu: {{metric: docker.cpu_of_limit, target: max < 80%, critical: max < 95%}}
          container-memory: {{metric: docker.memory, critical: max < 1GB}}
          oom: {{metric: docker.oom_kills, critical: count == 0}}
          iterations: {{metric: wait.iterations, target: count == 1}}
        reporters:
          json: {{path: result.json}}
        """


@pytest.fixture
def plugins(perfgate_plugin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    perfgate_plugin(perfgate_docker_resources)
    perfgate_plugin(WaitPlugin)


def test_no_engine_gives_error_verdicts_for_its_checks_only(plugins, tmp_path: Path) -> None:
    socket = tmp_path / "no-engine.sock"
    outcome = run_targets(targets(f"unix://{socket}", 0.2), output_dir=tmp_path)
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["iterations"].verdict.value == "pass"
    for name in ("container-cpu", "container-memory", "oom"):
        assert checks[name].verdict.value == "error", name
        assert f"cannot reach the Docker engine at unix://{socket}" in checks[name].message
    assert outcome.exit_code == 3
    assert json.loads((tmp_path / "result.json").read_text())["checks"]


def test_the_engine_stopped_mid_run(plugins, tmp_path: Path, monkeypatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("a private engine needs root")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    engine = DockerEngine().start()  # private: this test stops it
    try:
        image = engine.busybox_image()
        engine.client.containers.run(image, BUSY_LOOP,
                                     name=f"pg-lost-{engine.token}", detach=True,
                                     network_mode="host", nano_cpus=200_000_000,
                                     labels=engine.labels)
        process = engine.process
        assert process is not None

        def stop_the_engine() -> None:
            time.sleep(2.5)
            stop_dockerd(process, timeout=20)

        WaitDriver.during = stop_the_engine
        outcome = run_targets(targets(engine.host, 4.0), output_dir=tmp_path)
    finally:
        WaitDriver.during = None
        engine.stop()
    checks = {c.name: c for c in outcome.result.checks}
    assert checks["iterations"].verdict.value == "pass"
    for name in ("container-cpu", "container-memory", "oom"):
        assert checks[name].verdict.value == "error", name
        assert "did not answer from" in checks[name].message, checks[name].message
    assert outcome.exit_code == 3
    assert outcome.result.scenarios[0]["status"] == "completed"
    # What was measured before the engine went away is kept with the result.
    document = json.loads((tmp_path / "result.json").read_text())
    [container] = document["details"]["docker-resources"]["containers"]
    assert container["samples"] >= 2
    assert 0 < container["cpu_max"] <= 25
    assert document["details"]["docker-resources"]["samples"] >= 5
