"""Every compose file of the repository is valid, and the ones that can run here run."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import psycopg
import pytest
import redis
import yaml
from compose_stacks import OPTIMIZED, REPO, compose_files
from jsonschema import Draft7Validator

from perfgate.compose import ComposeStack, find_compose

SCHEMA = json.loads((Path(__file__).with_name("compose-spec.json")).read_text())
MiB = 1024 * 1024


def test_the_compose_files_are_found() -> None:
    assert OPTIMIZED in compose_files()


@pytest.mark.parametrize("file", compose_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_it_follows_the_compose_specification(file: Path) -> None:
    errors = sorted(Draft7Validator(SCHEMA).iter_errors(yaml.safe_load(file.read_text())),
                    key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                                 for e in errors)


@pytest.mark.parametrize("file", compose_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_installed_compose_accepts_it(file: Path) -> None:
    env = {"POSTGRES_PASSWORD": "not-a-real-secret", "PATH": "/usr/local/bin:/usr/bin:/bin"}
    done = subprocess.run([*find_compose(env), "-f", str(file), "config", "-q"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_every_service_has_limits_reservations_a_health_check_and_a_restart_policy() -> None:
    for name, service in yaml.safe_load(OPTIMIZED.read_text())["services"].items():
        resources = service["deploy"]["resources"]
        assert {"cpus", "memory"} <= resources["limits"].keys(), name
        assert {"cpus", "memory"} <= resources["reservations"].keys(), name
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name
        assert all(str(port).startswith("127.0.0.1:") for port in service["ports"]), name


def test_the_optimized_stack_runs_healthy_with_its_limits(runnable) -> None:
    stack = runnable(OPTIMIZED)
    compose = ComposeStack([stack.copy], stack.project, env=stack.env, cwd=REPO,
                           project_directory=stack.file.parent, command=stack.command)
    compose.up(timeout=120)
    states = compose.wait_ready(timeout=90)
    assert sorted(s.service for s in states) == ["api", "postgres", "redis"]
    assert all(s.health == "healthy" for s in states)

    inspected = {s.service: json.loads(subprocess.run(
        ["docker", "inspect", s.name], env=stack.env, capture_output=True, text=True,
        check=True).stdout)[0]["HostConfig"] for s in states}
    expected = {"api": (1.0, 512 * MiB, 128 * MiB), "postgres": (2.0, 1024 * MiB, 512 * MiB),
                "redis": (1.0, 768 * MiB, 256 * MiB)}
    for service, (cpus, memory, reservation) in expected.items():
        host = inspected[service]
        assert host["NanoCpus"] == cpus * 1e9, service
        assert host["Memory"] == memory, service
        assert host["MemoryReservation"] == reservation, service
        assert host["RestartPolicy"]["Name"] == "unless-stopped", service

    with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports['api']}/health",
                                timeout=5) as answer:
        assert json.load(answer)["status"] == "ok"
    with psycopg.connect(host="127.0.0.1", port=stack.ports["postgres"], user="perfgate",
                         dbname="app") as conn:
        show = {name: (conn.execute(f"SHOW {name}").fetchone() or [None])[0]
                for name in ("shared_buffers", "max_connections", "shared_preload_libraries")}
    assert show == {"shared_buffers": "256MB", "max_connections": "200",
                    "shared_preload_libraries": "pg_stat_statements"}
    cache = redis.Redis(host="127.0.0.1", port=stack.ports["redis"])
    assert cache.config_get("maxmemory")["maxmemory"] == str(512 * MiB)
    assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert cache.config_get("save")["save"] == "900 1 300 10"
    assert compose.down(timeout=10) is None
    assert compose.container_ids() == []
