"""examples/docker/targets.yml: the demo service in its container, judged per container."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from compose_stacks import OPTIMIZED, REPO

from perfgate.testing import run_targets

EXAMPLE = REPO / "examples" / "docker" / "targets.yml"


def test_the_demo_service_in_a_container_passes_the_plans_targets(runnable,
                                                                   tmp_path: Path) -> None:
    stack = runnable(OPTIMIZED)
    targets = yaml.safe_load(EXAMPLE.read_text())
    api = targets["services"]["api"]
    # The file as users run it, but with the stack made runnable here (see compose_stacks).
    api["compose"].update(file=str(stack.copy), project=stack.project,
                          project_directory=str(OPTIMIZED.parent))
    targets["collectors"]["containers"]["project"] = stack.project
    environ = {**stack.env, "DEMO_PORT": str(stack.ports["api"])}
    outcome = run_targets(targets, output_dir=tmp_path, time_scale=0.1, environ=environ)

    checks = {c.name: c for c in outcome.result.checks}
    assert outcome.exit_code == 0, {n: (c.verdict.value, c.message) for n, c in checks.items()
                                    if c.verdict.value != "pass"}
    for name in ("container-cpu", "container-memory", "container-disk-write", "api-restarts",
                 "api-unhealthy", "containers.oom-kills", "containers.restarts"):
        assert checks[name].verdict.value == "pass", name
    # Host networking here: containers have no network counters of their own.
    assert checks["container-network-in"].verdict.value == "skip"
    details = json.loads((tmp_path / "reports" / "result.json").read_text())["details"]
    followed = {c["service"]: c for c in details["containers"]["containers"]}
    assert set(followed) == {"api", "postgres", "redis"}
    assert followed["api"]["cpu_limit"] == 1.0
    assert followed["api"]["memory_limit"] == 512 * 1024 * 1024
    assert followed["api"]["samples"] >= 2
    assert (tmp_path / "reports" / "containers.log").read_text().count("api_1") + \
        (tmp_path / "reports" / "containers.log").read_text().count("api-1") > 0
    assert stack.compose("ps", "-q").stdout.split() == []
