"""Services perfgate starts for a run: start in their own process group, wait until healthy,
watch them while the load runs, always stop the whole group (SIGTERM, then SIGKILL after
``stop_timeout``).

A started service that exits before perfgate stops it has died under test: the watcher
(:meth:`ServiceManager.watch`) reports it with its exit code and the end of its log.

A service with ``compose:`` is a compose stack instead: brought up, waited for until every
container runs and passes its health check, and always taken down (:mod:`perfgate.compose`).

Output of each started service (a stack's containers' logs) goes to
``<output>/services/<name>.log``, or to the service's ``log:`` path (relative to
``<output>``); secrets are redacted from it once the service stops.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from perfgate.compose import ComposeStack
from perfgate.config import ServiceConfig
from perfgate.context import address_allowed, host_allowed, refusal, resolved_elsewhere
from perfgate.errors import ServiceError
from perfgate.redact import Redactor
from perfgate.result import write_atomic
from perfgate.watchdog import watchdog


@dataclass
class StartedStack:
    name: str
    stack: ComposeStack
    config: ServiceConfig
    log_path: Path


@dataclass
class StartedService:
    name: str
    process: subprocess.Popen[bytes]
    config: ServiceConfig
    log_path: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session makes the child its group's leader


#: Redirects a health probe follows, each to a host where load may go.
MAX_REDIRECTS = 5


class HealthRefused(ServiceError):
    """The health probe would have gone to a host where load may not go."""


def health_url(config: ServiceConfig) -> str | None:
    if config.health is None:
        return None
    if config.health.startswith(("http://", "https://")):
        return config.health
    return config.url + "/" + config.health.lstrip("/")


def probe(url: str, statuses: list[int] | None, timeout: float = 2.0,
          allow_hosts: list[str] | tuple[str, ...] = ()) -> str | None:
    """None if ``url`` answers healthy, else a short reason.

    The probe goes straight to the service (never through a proxy from the environment) and
    only where load may go: the host of ``url`` and of every redirect it follows must be
    loopback or in ``allow_hosts``, and the address it connected to must be loopback unless
    the host is listed (see :func:`perfgate.address_allowed`).

    :raises HealthRefused: a host or an address where load may not go.
    """
    with httpx.Client(trust_env=False, follow_redirects=False, verify=True,
                      timeout=httpx.Timeout(timeout)) as client:
        for _ in range(MAX_REDIRECTS + 1):
            host = urlsplit(url).hostname or ""
            if not host_allowed(host, allow_hosts):
                raise HealthRefused(refusal(host))
            elsewhere = resolved_elsewhere(host, allow_hosts)
            if elsewhere is not None:
                raise HealthRefused(refusal(host, elsewhere))
            try:
                with client.stream("GET", url) as response:
                    code = response.status_code
                    location = response.headers.get("location")
                    peer = _peer_address(response)
            except httpx.HTTPError as exc:
                return f"{type(exc).__name__}: {exc}"
            if peer is not None and not address_allowed(host, peer, allow_hosts):
                raise HealthRefused(refusal(host, peer))
            if not (300 <= code < 400 and location) or (statuses and code in statuses):
                break
            url = urljoin(url, location)
        else:
            return f"more than {MAX_REDIRECTS} redirects"
    ok = code in statuses if statuses else 200 <= code < 300
    return None if ok else f"HTTP {code}"


def _peer_address(response: httpx.Response) -> str | None:
    """The address the response came from, if the transport tells it."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    return str(peer[0]) if peer else None


def port_in_use(url: str) -> bool:
    """True if something already accepts connections at the URL's host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    | " + line for line in text)


class ServiceManager:
    """Starts the services of a targets file and guarantees they are stopped."""

    def __init__(self, services: dict[str, ServiceConfig], folder: Path, output_dir: Path,
                 redactor: Redactor | None = None,
                 allow_hosts: list[str] | tuple[str, ...] = ()) -> None:
        self.services = services
        #: Hosts beyond loopback that health probes may go to.
        self.allow_hosts = tuple(allow_hosts)
        self.folder = folder
        self.output_dir = output_dir
        #: Applied to each log once its service stopped: a service that prints the secret
        #: perfgate handed it must not leave it in a file CI uploads.
        self.redactor = redactor or Redactor()
        self.started: list[StartedService] = []
        self.stacks: list[StartedStack] = []
        self._reported: set[str] = set()
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None

    def start_all(self, stopping: object | None = None) -> None:
        """Start every service with ``start:``, bring up every ``compose:`` stack, then wait
        for every ``health:`` URL to answer."""
        for name, config in self.services.items():
            if config.start is not None:
                self._start(name, config)
            elif config.compose is not None:
                self._compose_up(name, config, stopping)
        for name, config in self.services.items():
            self._wait_healthy(name, config, stopping)

    def _refuse_taken_port(self, name: str, config: ServiceConfig) -> None:
        if port_in_use(config.url):
            raise ServiceError(
                f"service {name!r}: {config.url} already answers before perfgate started it; "
                "another process holds the port, and perfgate would measure that one instead. "
                "Stop it, or use another port", name)

    def _compose_up(self, name: str, config: ServiceConfig, stopping: object | None) -> None:
        """Bring the stack up and wait until its containers run and are healthy."""
        assert config.compose is not None
        compose = config.compose
        directory = compose.project_directory
        env = dict(os.environ)
        env.update(config.env)
        try:
            stack = ComposeStack(
                [self.folder / file for file in compose.files],
                compose.project or default_project(name), compose.services, cwd=self.folder,
                env=env, project_directory=self.folder / directory if directory else None)
            # The project is perfgate's for the run: containers of it left by a run that was
            # killed (SIGKILL gives no chance to take them down) go before it comes up again.
            if stack.container_ids():
                problem = stack.down(config.stop_timeout)
                if problem:
                    raise ServiceError(f"the containers a previous run left: {problem}")
        except ServiceError as exc:
            raise ServiceError(f"service {name!r}: {exc}", name) from None
        self._refuse_taken_port(name, config)
        log_path = self.output_dir / (config.log or f"services/{name}.log")
        # Recorded before ``up``: whatever ``up`` managed to create is taken down.
        self.stacks.append(StartedStack(name, stack, config, log_path))
        deadline = time.monotonic() + config.start_timeout
        try:
            stack.up(config.start_timeout, stopping)
            stack.wait_ready(max(0.0, deadline - time.monotonic()), stopping)
        except ServiceError as exc:
            raise ServiceError(f"service {name!r}: {exc} (the containers' logs are kept in "
                               f"{log_path})", name) from None

    def _start(self, name: str, config: ServiceConfig) -> None:
        self._refuse_taken_port(name, config)
        args = config.start if isinstance(config.start, list) else shlex.split(config.start or "")
        cwd = self.folder / config.cwd if config.cwd else self.folder
        env = dict(os.environ)
        # The start command sees the interpreter perfgate runs in first on PATH.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env.update(config.env)
        log_path = self.output_dir / (config.log or f"services/{name}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            try:
                process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            except OSError as exc:
                raise ServiceError(f"service {name!r}: cannot start {args[0]!r}: "
                                   f"{exc.strerror or exc}", name) from None
        # Stopped by the watchdog if perfgate itself is killed (SIGKILL) before stop_all.
        watchdog().add_group(process.pid, config.stop_timeout)
        self.started.append(StartedService(name, process, config, log_path))

    def _wait_healthy(self, name: str, config: ServiceConfig, stopping: object | None) -> None:
        url = health_url(config)
        if url is None:
            return
        started = next((s for s in self.started if s.name == name), None)
        deadline = time.monotonic() + config.start_timeout
        reason = "no answer yet"
        while time.monotonic() < deadline:
            if stopping is not None and getattr(stopping, "is_set", lambda: False)():
                raise ServiceError(f"service {name!r}: interrupted while waiting for {url}",
                                   name)
            if started is not None and started.process.poll() is not None:
                raise ServiceError(
                    f"service {name!r} exited with code {started.process.returncode} before "
                    f"{url} answered; last output:\n{_tail(started.log_path)}", name)
            try:
                reason = probe(url, config.health_status, allow_hosts=self.allow_hosts) or ""
            except HealthRefused as exc:
                raise ServiceError(f"service {name!r}: health {url}: {exc}", name) from None
            if not reason:
                return
            time.sleep(0.1)
        tail = f"; last output:\n{_tail(started.log_path)}" if started else ""
        raise ServiceError(f"service {name!r} was not healthy within "
                           f"{config.start_timeout:g}s ({url}: {reason}){tail}", name)

    def groups(self) -> dict[str, int]:
        """Each started service's name and process group id."""
        return {s.name: s.pgid for s in self.started}

    def exited(self) -> list[tuple[str, str]]:
        """``(service, message)`` for each started service that exited since the last call.

        The message names the service, its exit code (or the signal that killed it) and ends
        with the last lines of its log. Never raises.
        """
        found = []
        for service in self.started:
            code = service.process.poll()
            if code is None or service.name in self._reported:
                continue
            self._reported.add(service.name)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            found.append((service.name, f"service {service.name!r} {how} while the run was "
                                        f"going on; last output:\n{_tail(service.log_path)}"))
        return found

    def watch(self, on_exit: Callable[[str, str], None], interval: float = 0.2) -> None:
        """Call ``on_exit(service, message)`` from a thread when a started service exits.

        Watching ends when :meth:`stop_all` begins: stopping a service is not a death.
        """
        if not self.started or self._watcher is not None:
            return
        self._watching.set()

        def loop() -> None:
            while self._watching.is_set():
                for name, message in self.exited():
                    on_exit(name, message)
                time.sleep(interval)

        self._watcher = threading.Thread(target=loop, name="perfgate-service-watch",
                                         daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        self._watching.clear()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None

    def stop_all(self) -> list[str]:
        """Stop every started service's process group, then keep the logs of every compose
        stack and take it down; return problems (never raises)."""
        self.stop_watching()
        problems = []
        for service in reversed(self.started):
            problem = stop_group(service.process, service.config.stop_timeout)
            watchdog().remove_group(service.pgid)
            if problem:
                problems.append(f"service {service.name!r}: {problem}")
            problem = self._redact_log(service.log_path)
            if problem:
                problems.append(f"service {service.name!r}: {problem}")
        self.started.clear()
        for started in reversed(self.stacks):
            for problem in (started.stack.save_logs(started.log_path),
                            self._redact_log(started.log_path),
                            started.stack.down(started.config.stop_timeout)):
                if problem:
                    problems.append(f"service {started.name!r}: {problem}")
        self.stacks.clear()
        return problems


    def _redact_log(self, path: Path) -> str | None:
        try:
            text = path.read_text(errors="replace")
            clean = self.redactor.text(text)
            if clean != text:
                write_atomic(path, clean)
        except OSError as exc:
            return f"could not redact its log {path}: {exc.strerror}"
        return None


def default_project(service: str) -> str:
    """The compose project name of a service without ``project:``: ``perfgate-<service>``."""
    return "perfgate-" + re.sub(r"[^a-z0-9_-]+", "-", service.lower()).strip("-")


def stop_group(process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """SIGTERM the process group, wait ``timeout``, then SIGKILL it. Never raises."""
    pgid = process.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=5)
        return f"did not stop within {timeout:g}s of SIGTERM; killed"
    # The leader is gone; make sure no member of its group outlives it.
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
