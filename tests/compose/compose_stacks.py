"""Running the repository's compose files here: no registry, no bridge, shared ports.

A runnable copy of the file, written per run, swaps each service's image for the local busybox
image and runs the host's own binaries in it from read-only mounts; containers use the host's
network, so published ports are dropped and each container port of the file moves to a free
port on 127.0.0.1 (in the command and the health check alike). Everything else (limits,
reservations, health checks, restart policies, the mounted configuration files, the servers'
options) is the file's own; the copy runs with the original's folder as project directory, so
its relative paths still point into the repository. (An override file cannot do this with
Compose v1: it can add keys but not remove ``ports``, which host networking refuses.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from perfgate.testing import free_port
from perfgate_docker_resources.testing import host_mounts

REPO = Path(__file__).resolve().parents[2]
OPTIMIZED = REPO / "compose" / "docker-compose.performance-optimized.yml"
PG_BINDIR = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/bin"))


def compose_files() -> list[Path]:
    """Every compose file of the repository."""
    found = {*REPO.glob("compose/*.yml"), *REPO.glob("compose/*.yaml")}
    for pattern in ("docker-compose*.y*ml", "compose*.y*ml"):
        found.update(p for p in REPO.rglob(pattern)
                     if not {".git", ".venv", "node_modules"} & set(p.relative_to(REPO).parts))
    return sorted(found)


def container_ports(service: dict[str, Any]) -> list[int]:
    """The container side of each ``ports:`` entry (``127.0.0.1:${X:-8000}:8000`` is 8000)."""
    ports = []
    for entry in service.get("ports", []):
        target = entry.get("target") if isinstance(entry, dict) else str(entry).rsplit(":", 1)[-1]
        ports.append(int(str(target).split("/")[0]))
    return ports


def _moved(value: Any, moves: dict[int, int]) -> Any:
    """``value`` (a string or a list of them) with every container port moved, on loopback."""
    if isinstance(value, list):
        return [_moved(v, moves) for v in value]
    text = str(value).replace("0.0.0.0", "127.0.0.1").replace("listen_addresses=*",
                                                               "listen_addresses=127.0.0.1")
    for old, new in moves.items():
        text = re.sub(rf"(?<![\d.]){old}(?![\d.])", str(new), text)
    return text


@dataclass
class RunnableStack:
    """A compose file made runnable here: its copy, project, ports and environment."""

    file: Path
    copy: Path
    project: str
    ports: dict[str, int]
    env: dict[str, str]
    command: list[str] = field(default_factory=list)

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.command, "-p", self.project, "--project-directory",
                               str(self.file.parent), "-f", str(self.copy), *args],
                              env=self.env, text=True,
                              capture_output=True, timeout=timeout, check=False)


def _postgres(service: dict[str, Any], moves: dict[int, int], port: int) -> dict[str, Any]:
    """PostgreSQL from the host's binaries: initdb into a tmpfs as ``postgres``, then the
    file's own ``postgres`` command on the moved port."""
    import pwd

    user = pwd.getpwnam("postgres")
    server = " ".join(f"'{arg}'" for arg in _moved(service["command"], moves))
    script = ("initdb -D /pgdata/data -U perfgate -A trust -E UTF8 --locale=C --no-sync "
              ">/dev/null && echo 'CREATE DATABASE app' | postgres --single -D /pgdata/data "
              f"template1 >/dev/null && exec {server} -D /pgdata/data -p {port} -k /tmp")
    return {
        "user": f"{user.pw_uid}:{user.pw_gid}",
        "command": ["sh", "-c", script],
        "tmpfs": ["/pgdata:mode=1777"],
        "volumes": ["/etc/passwd:/etc/passwd:ro", "/etc/group:/etc/group:ro"],
        "environment": {"PATH": f"{PG_BINDIR}:/usr/bin:/bin"},
    }


def runnable_copy(file: Path, image: str) -> tuple[dict[str, Any], dict[str, int]]:
    """``file`` made runnable here, and each service's port on 127.0.0.1."""
    model = yaml.safe_load(file.read_text())
    mounts = [f"{path}:{path}:ro" for path in host_mounts(REPO)]
    services: dict[str, Any] = {}
    published: dict[str, int] = {}
    for name, service in model["services"].items():
        moves = {port: free_port() for port in container_ports(service)}
        published[name] = next(iter(moves.values()), 0)
        override: dict[str, Any] = {
            "image": image, "network_mode": "host", "volumes": list(mounts),
            "environment": {"PATH": f"{sys.prefix}/bin:/usr/bin:/bin"},
        }
        if "command" in service:
            override["command"] = _moved(service["command"], moves)
        if "healthcheck" in service and "test" in service["healthcheck"]:
            override["healthcheck"] = {"test": _moved(service["healthcheck"]["test"], moves)}
        if "postgres" in str(service.get("image", "")):
            port = next(iter(moves.values()))
            extra = _postgres(service, moves, port)
            override["volumes"] += extra.pop("volumes")
            override.update(extra)
        elif "redis" in str(service.get("image", "")):
            override["command"] = [*override["command"], "--bind", "127.0.0.1"]
        runnable = {key: value for key, value in service.items() if key not in ("ports",
                                                                                 "build")}
        runnable.update(override, volumes=[*service.get("volumes", []), *override["volumes"]],
                        environment={**service.get("environment", {}),
                                     **override["environment"]})
        if "healthcheck" in override:
            runnable["healthcheck"] = {**service["healthcheck"], **override["healthcheck"]}
        services[name] = runnable
    return {**model, "services": services}, published
