"""A compose stack as a service: up before load, healthy, always down (pass, fail, SIGINT)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from harness import Perfgate, free_port, wait_for

from perfgate.compose import find_compose

SECRET = "Compose-Log-Secret-42"


def stack_file(tmp: Path, image: str, labels: dict[str, str], port: int, *,
               healthy: bool = True) -> Path:
    """One busybox ``httpd`` on 127.0.0.1:``port`` with a health check of its own."""
    page = "ok" if healthy else ""
    command = (f"mkdir -p /www && echo '{page}' > /www/health && [ -n '{page}' ] || "
               "rm /www/health; echo \"web starting with token $$TOKEN\"; "
               f"httpd -f -v -p 127.0.0.1:{port} -h /www & pid=$$!; "
               "trap 'kill $$pid; exit 0' TERM; wait $$pid")
    model = {"services": {"web": {
        "image": image, "network_mode": "host", "labels": labels,
        "command": ["sh", "-c", command],
        "environment": {"TOKEN": "${TOKEN:?}"},
        "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null",
                                 f"http://127.0.0.1:{port}/health"],
                        "interval": "1s", "timeout": "2s", "retries": 2},
        "stop_grace_period": "2s",
    }}}
    path = tmp / "stack.yml"
    path.write_text(yaml.safe_dump(model))
    return path


def targets(port: int, project: str, *, duration: str = "0.5s", failures: int = 0,
            timeout: str = "60s") -> str:
    return f"""\
version: 1
services:
  web:
    url: http://127.0.0.1:{port}
    health: /health
    compose: {{file: stack.yml, project: {project}}}
    env: {{TOKEN: "${{secret:WEB_TOKEN}}"}}
    start_timeout: {timeout}
    stop_timeout: 5s
scenarios:
  load: {{driver: synthetic, service: web, operations: 100, failures: {failures},
          duration: {duration}}}
targets:
  errors: {{metric: synthetic.failed, critical: rate < 5%}}
reporters:
  json: {{path: result.json}}
"""


@pytest.fixture
def stack(docker_engine, busybox_image, tmp_path: Path, perfgate: Perfgate):
    """(perfgate, port, project, containers()) with the engine and the secret in its env."""
    port = free_port()
    project = f"pgweb{docker_engine.token.replace('-', '')}"
    perfgate.env.update(docker_engine.env())
    perfgate.env["WEB_TOKEN"] = SECRET

    def containers() -> list[str]:
        done = subprocess.run(["docker", "ps", "-aq", "--filter",
                               f"label=com.docker.compose.project={project}"],
                              env=docker_engine.env(), capture_output=True, text=True,
                              check=True)
        return done.stdout.split()

    def write(**options) -> Path:
        stack_file(tmp_path, busybox_image, docker_engine.labels, port, **options)
        return tmp_path

    yield perfgate, port, project, containers, write
    docker_engine.remove_test_containers()


def log_of(tmp_path: Path) -> str:
    return (tmp_path / "out" / "services" / "web.log").read_text()


def test_a_stack_is_brought_up_healthy_and_taken_down(stack, tmp_path: Path) -> None:
    perfgate, port, project, containers, write = stack
    write()
    done = perfgate.run("run", str(perfgate.write(targets(port, project))), "--output", "out",
                        "--no-progress")
    assert done.code == 0, done.stderr
    assert done.result()["checks"][0]["verdict"] == "pass"
    assert containers() == []
    log = log_of(tmp_path)
    assert "web starting with token ***" in log
    assert SECRET not in log


def test_a_failed_gate_still_takes_it_down(stack, tmp_path: Path) -> None:
    perfgate, port, project, containers, write = stack
    write()
    done = perfgate.run("run", str(perfgate.write(targets(port, project, failures=50))),
                        "--output", "out", "--no-progress")
    assert done.code == 1, done.stderr
    assert containers() == []


def test_a_stack_that_never_gets_healthy_is_a_broken_run(stack, tmp_path: Path) -> None:
    perfgate, port, project, containers, write = stack
    write(healthy=False)
    done = perfgate.run("run", str(perfgate.write(targets(port, project, timeout="20s"))),
                        "--output", "out", "--no-progress", timeout=120)
    assert done.code == 3, done.stderr
    message = done.result()["errors"][0]["message"]
    assert "web (" in message and "unhealthy" in message, message
    assert containers() == []
    assert "web starting" in log_of(tmp_path)


def test_sigint_takes_it_down_and_still_reports(stack, tmp_path: Path) -> None:
    perfgate, port, project, containers, write = stack
    write()
    path = perfgate.write(targets(port, project, duration="60s"))
    proc = perfgate.start("run", str(path), "--output", "out", "--no-progress")
    try:
        assert wait_for(lambda: len(containers()) == 1, timeout=60)
        assert wait_for(lambda: _answers(port), timeout=60)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["run"]["status"] == "interrupted"
    assert containers() == []


def _answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
            return True
    except OSError:
        return False


def test_a_stack_left_by_a_killed_run_is_taken_down_first(stack, tmp_path: Path,
                                                          docker_engine) -> None:
    perfgate, port, project, containers, write = stack
    folder = write()
    leftover = subprocess.run(
        [*find_compose(docker_engine.env()), "-p", project, "-f", str(folder / "stack.yml"),
         "up", "-d"], env={**docker_engine.env(), "TOKEN": "left-over"}, capture_output=True,
        text=True, timeout=120, check=False)
    assert leftover.returncode == 0, leftover.stderr
    [old] = containers()
    assert wait_for(lambda: _answers(port), timeout=60)
    done = perfgate.run("run", str(perfgate.write(targets(port, project))), "--output", "out",
                        "--no-progress", timeout=120)
    assert done.code == 0, done.stderr
    assert containers() == []
    assert "left-over" not in log_of(tmp_path)
    assert old[:12] not in log_of(tmp_path)
