"""Compose stacks as services: bring a stack up, wait until its containers are healthy, keep
their logs, and always take it down.

perfgate drives the compose command that is installed, ``docker compose`` (Compose v2, the
Docker CLI plugin) or else ``docker-compose`` (v1), and reads the containers' state with
``docker inspect``; both honour ``DOCKER_HOST``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfgate.errors import ServiceError

INSTALL_HINT = ("install Docker's Compose v2 plugin (the docker-compose-plugin package, "
                "giving 'docker compose') or Compose v1 (Debian's docker-compose package)")


def _answers(args: list[str], env: Mapping[str, str]) -> bool:
    try:
        done = subprocess.run([*args, "version"], env=dict(env), capture_output=True,
                              timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_compose(env: Mapping[str, str] | None = None) -> list[str]:
    """The compose command: ``["docker", "compose"]`` if installed, else ``["docker-compose"]``.

    Raises :class:`ServiceError` saying what to install when there is neither.
    """
    env = os.environ if env is None else env
    if shutil.which("docker", path=env.get("PATH")) and _answers(["docker", "compose"], env):
        return ["docker", "compose"]
    legacy = shutil.which("docker-compose", path=env.get("PATH"))
    if legacy and _answers([legacy], env):
        return [legacy]
    raise ServiceError(f"no compose command: neither 'docker compose' nor 'docker-compose' "
                       f"works here; {INSTALL_HINT}")


@dataclass
class ContainerState:
    """One container of a stack as ``docker inspect`` shows it."""

    name: str
    service: str
    status: str  # created, running, restarting, exited, dead...
    health: str | None  # starting, healthy, unhealthy; None without a health check
    exit_code: int

    @property
    def ready(self) -> bool:
        return self.status == "running" and self.health in (None, "healthy")

    def describe(self) -> str:
        state = self.status if self.health is None else f"{self.status}, {self.health}"
        if self.status in ("exited", "dead"):
            state += f", exit code {self.exit_code}"
        return f"{self.service} ({self.name}): {state}"


class ComposeStack:
    """One compose project: ``up``, ``wait_ready``, ``save_logs``, ``down``.

    :param files: the compose files, in order (later ones override earlier ones).
    :param project: the project name (``-p``); containers are labelled with it.
    :param services: the services to bring up (all of the files' when empty).
    :param cwd: where relative paths start (the targets file's folder).
    :param env: the environment of the compose command (``DOCKER_HOST``, variables the files
        interpolate).
    :param project_directory: where the files' relative paths start (compose's default: the
        first file's folder).
    """

    def __init__(self, files: Sequence[Path], project: str, services: Sequence[str] = (),
                 cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 project_directory: Path | None = None,
                 command: Sequence[str] | None = None) -> None:
        self.files = list(files)
        self.project = project
        self.services = list(services)
        self.cwd = cwd or Path.cwd()
        self.env = dict(os.environ if env is None else env)
        self.project_directory = project_directory
        self.command = list(command) if command else find_compose(self.env)

    def _args(self, *args: str) -> list[str]:
        files = [arg for file in self.files for arg in ("-f", str(file))]
        if self.project_directory is not None:
            files += ["--project-directory", str(self.project_directory)]
        return [*self.command, "-p", self.project, *files, *args]

    def run(self, *args: str, timeout: float = 300,
            stopping: Any = None) -> subprocess.CompletedProcess[str]:
        """Run one compose command and return its output (not printed).

        The command runs in a session of its own, so a Ctrl-C meant for perfgate does not cut
        it short; when ``stopping`` (an event) is set, it is ended with SIGTERM instead, and
        :class:`ServiceError` says it was interrupted.
        """
        command = self._args(*args)
        try:
            process = subprocess.Popen(command, cwd=self.cwd, env=self.env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise ServiceError(f"cannot run {self.command[0]!r}: {exc.strerror or exc}; "
                               f"{INSTALL_HINT}") from exc
        deadline = time.monotonic() + timeout
        while True:
            try:
                out, err = process.communicate(timeout=0.2)
                return subprocess.CompletedProcess(command, process.returncode, out, err)
            except subprocess.TimeoutExpired:
                interrupted = stopping is not None and stopping.is_set()
                if not interrupted and time.monotonic() < deadline:
                    continue
            _end(process)
            what = "interrupted" if interrupted else f"did not finish within {timeout:g}s"
            raise ServiceError(f"compose project {self.project!r}: '{args[0]}' {what}")

    def up(self, timeout: float, stopping: Any = None) -> None:
        """``up -d`` the services; raise :class:`ServiceError` with compose's output on failure."""
        done = self.run("up", "-d", "--no-color", *self.services, timeout=timeout,
                        stopping=stopping)
        if done.returncode != 0:
            raise ServiceError(f"compose project {self.project!r} did not come up "
                               f"(exit {done.returncode}):\n{_indent(done.stderr or done.stdout)}")

    def container_ids(self) -> list[str]:
        """IDs of the project's containers (of :attr:`services` when given), stopped too.

        Read with ``docker ps`` by the labels both compose versions put on containers: a
        compose command is a much slower program to start, and this is polled.
        """
        done = subprocess.run(
            ["docker", "ps", "-aq", "--no-trunc",
             "--filter", f"label=com.docker.compose.project={self.project}",
             "--format", '{{.ID}} {{.Label "com.docker.compose.service"}} '
                         '{{.Label "com.docker.compose.oneoff"}}'],
            env=self.env, text=True, capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            raise ServiceError(f"compose project {self.project!r}: 'docker ps' failed:\n"
                               f"{_indent(done.stderr)}")
        ids = []
        for line in done.stdout.splitlines():
            container, service, oneoff = [*line.split(" "), "", ""][:3]
            if oneoff.lower() != "true" and (not self.services or service in self.services):
                ids.append(container)
        return ids

    def states(self) -> list[ContainerState]:
        """The state of each container of the project (of :attr:`services` when given)."""
        ids = self.container_ids()
        if not ids:
            return []
        done = subprocess.run(["docker", "inspect", *ids], env=self.env, text=True,
                              capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            raise ServiceError(f"compose project {self.project!r}: 'docker inspect' failed:\n"
                               f"{_indent(done.stderr)}")
        return [_state(item) for item in json.loads(done.stdout)]

    def wait_ready(self, timeout: float, stopping: Any = None) -> list[ContainerState]:
        """Wait until every container runs and every health check says ``healthy``.

        Raises :class:`ServiceError` naming the containers that are not, when one exits, turns
        ``unhealthy``, or ``timeout`` passes, or when ``stopping`` (an event) is set.
        """
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            broken = [s for s in states if s.health == "unhealthy"
                      or s.status in ("exited", "dead")]
            if broken:
                raise ServiceError(f"compose project {self.project!r}: "
                                   + "; ".join(s.describe() for s in broken))
            if states and all(s.ready for s in states):
                return states
            if stopping is not None and stopping.is_set():
                raise ServiceError(f"compose project {self.project!r}: interrupted while "
                                   "waiting for its containers")
            if time.monotonic() >= deadline:
                waiting = [s.describe() for s in states if not s.ready] or ["no containers"]
                raise ServiceError(f"compose project {self.project!r} was not ready within "
                                   f"{timeout:g}s: " + "; ".join(waiting))
            time.sleep(0.5)

    def save_logs(self, path: Path) -> str | None:
        """Write the containers' logs to ``path``; return a problem, or None. Never raises."""
        try:
            done = self.run("logs", "--no-color", "--timestamps", *self.services, timeout=120)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(done.stdout + done.stderr)
        except (ServiceError, OSError) as exc:
            return f"could not keep its containers' logs: {exc}"
        return None

    def down(self, timeout: float) -> str | None:
        """Stop and remove the project's containers, networks and volumes; return a problem,
        or None. Never raises."""
        try:
            done = self.run("down", "--volumes", "--remove-orphans", "-t",
                            str(max(1, round(timeout))), timeout=timeout + 120)
        except ServiceError as exc:
            return str(exc)
        if done.returncode != 0:
            return f"'down' failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
        return None


def _end(process: subprocess.Popen[str]) -> None:
    """SIGTERM the command's session, SIGKILL it after 10 s; collect it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def _state(item: dict[str, Any]) -> ContainerState:
    labels = item.get("Config", {}).get("Labels") or {}
    state = item.get("State", {})
    health = state.get("Health") or {}
    return ContainerState(name=item.get("Name", "").lstrip("/"),
                          service=labels.get("com.docker.compose.service", "?"),
                          status=state.get("Status", "?"), health=health.get("Status"),
                          exit_code=int(state.get("ExitCode", 0)))


def _indent(text: str, lines: int = 15) -> str:
    return "\n".join("    | " + line for line in text.strip().splitlines()[-lines:])
