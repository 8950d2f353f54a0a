"""Throwaway Prometheus, Pushgateway, Alertmanager and node exporter servers for tests.

Each runs the installed binary (Debian's ``prometheus``, ``prometheus-pushgateway``,
``prometheus-alertmanager``, ``prometheus-node-exporter``) on 127.0.0.1 and a free port, with a
temporary folder for its data and log, in a process group of its own, and is stopped by PID::

    with Pushgateway() as gateway, PrometheusServer(scrape_config(gateway.address)) as prom:
        prom.wait_for_target("pushgateway")
        prom.query("up")
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
import yaml

from perfgate.testing import free_port

#: How long a server may take to answer its readiness URL after starting.
START_TIMEOUT = 30.0


def find_binary(name: str) -> str | None:
    """The path of an installed server binary (``prometheus``, ``promtool``...), or None."""
    return shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                  else None)


def requires(*binaries: str) -> pytest.MarkDecorator:
    """A pytest mark that skips a test when one of ``binaries`` is not installed."""
    missing = [name for name in binaries if find_binary(name) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)} "
                              "(Debian: prometheus, prometheus-pushgateway, ...)")


class ServerError(RuntimeError):
    """A test server did not start or did not answer as expected; the message has its log."""


class TestServer:
    """One server process on 127.0.0.1, its folder and its HTTP API.

    Subclasses set :attr:`binary`, :attr:`ready_path` and :meth:`arguments`.
    """

    __test__ = False  # not a pytest test class
    binary = ""
    ready_path = "/-/ready"

    def __init__(self) -> None:
        path = find_binary(self.binary)
        if path is None:
            raise FileNotFoundError(f"{self.binary} is not installed")
        self.path = path
        self.port = 0
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(timeout=10, trust_env=False)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as scrape configs name targets."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def arguments(self, folder: Path) -> list[str]:
        """The command-line options after the binary, for a server listening on :attr:`port`."""
        raise NotImplementedError

    def prepare(self, folder: Path) -> None:
        """Write the configuration files into ``folder`` before starting."""

    def start(self) -> TestServer:
        """Start the server and wait until it is ready (again on the same port after stop)."""
        self.folder = Path(tempfile.mkdtemp(prefix=f"perfgate-{self.binary}-"))
        self.port = self.port or free_port()
        self.prepare(self.folder)
        with (self.folder / "server.log").open("wb") as log:
            self.process = subprocess.Popen(
                [self.path, *self.arguments(self.folder)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failed(f"exited with {self.process.returncode} at start")
            try:
                if self.http.get(self.url + self.ready_path).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise self._failed(f"was not ready within {START_TIMEOUT:.0f}s")

    def log(self) -> str:
        """What the server printed so far."""
        if self.folder is None or not (self.folder / "server.log").exists():
            return ""
        return (self.folder / "server.log").read_text(errors="replace")

    def _failed(self, what: str) -> ServerError:
        error = ServerError(f"{self.binary} on {self.address} {what}:\n{self.log()[-4000:]}")
        self.stop()
        return error

    def stop(self) -> None:
        """Stop the process group by PID (TERM, then KILL after 10 s) and remove the folder."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(10)
            self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def close(self) -> None:
        """Stop the server and close the HTTP client."""
        self.stop()
        self.http.close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def scrape_config(*jobs: tuple[str, Sequence[str]] | tuple[str, Sequence[str], dict[str, Any]],
                  interval: str = "1s", rule_files: Sequence[str | Path] = (),
                  alertmanager: str | None = None) -> dict[str, Any]:
    """A ``prometheus.yml`` as a dict: one static job per ``(name, targets[, options])``.

    ``options`` are more keys of the scrape config (``honor_labels``, ``metrics_path``).
    """
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": job[0], "static_configs": [{"targets": list(job[1])}],
                            **(job[2] if len(job) > 2 else {})}
                           for job in jobs],
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


class PrometheusServer(TestServer):
    """A Prometheus server with ``config`` (a dict or YAML text) and its own TSDB folder.

    The lifecycle API (``/-/reload``) and the remote-write receiver are on, and so is exemplar
    storage.
    """

    binary = "prometheus"

    def __init__(self, config: dict[str, Any] | str, *flags: str) -> None:
        super().__init__()
        self.config = config if isinstance(config, str) else yaml.safe_dump(config)
        self.flags = flags

    def prepare(self, folder: Path) -> None:
        (folder / "prometheus.yml").write_text(self.config)

    def arguments(self, folder: Path) -> list[str]:
        return [f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address={self.address}",
                "--web.enable-lifecycle", "--web.enable-remote-write-receiver",
                "--enable-feature=exemplar-storage", *self.flags]

    def reload(self, config: dict[str, Any] | str) -> None:
        """Replace the configuration of the running server."""
        assert self.folder is not None
        self.config = config if isinstance(config, str) else yaml.safe_dump(config)
        (self.folder / "prometheus.yml").write_text(self.config)
        response = self.http.post(self.url + "/-/reload")
        if response.status_code != 200:
            raise ServerError(f"reload failed: {response.text}")

    def api(self, path: str, **params: Any) -> Any:
        """``data`` of a successful ``/api/v1/<path>`` answer."""
        body = self.http.get(f"{self.url}/api/v1/{path}", params=params).json()
        if body.get("status") != "success":
            raise ServerError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector (``[{"metric": {...}, "value": [t, "v"]}]``) of ``expr``."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        return list(self.api("query", **params)["result"])

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0,
                 what: str = "the condition") -> Any:
        """Poll ``predicate`` until it returns something true; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise ServerError(f"{what} did not hold within {timeout:.0f}s")
            time.sleep(0.2)

    def wait_for_discovery(self, *jobs: str, timeout: float = 20.0) -> None:
        """Wait until Prometheus scrapes the targets of ``jobs`` (up or not).

        Prometheus hands newly discovered targets to its scrapers at most every 5 s, so for a
        few seconds after it starts nothing is scraped: a test that measures a run right
        after starting it waits here first.
        """
        def discovered() -> bool:
            found = {t["labels"].get("job") for t in
                     self.api("targets", state="active")["activeTargets"]
                     if t.get("lastScrape", "").startswith("2") and t.get("health") != "unknown"}
            return set(jobs) <= found
        self.wait_for(discovered, timeout, f"jobs {', '.join(jobs)} scraped")

    def wait_for_target(self, job: str, timeout: float = 20.0) -> None:
        """Wait until every target of ``job`` was scraped successfully."""
        def healthy() -> bool:
            targets = [t for t in self.api("targets", state="active")["activeTargets"]
                       if t["labels"].get("job") == job]
            return bool(targets) and all(t["health"] == "up" for t in targets)
        self.wait_for(healthy, timeout, f"job {job!r} up")

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending and firing) with their labels and state."""
        return list(self.api("alerts")["alerts"])


class Pushgateway(TestServer):
    """A Pushgateway keeping what is pushed in memory only.

    (Debian's build persists to /var/lib/prometheus/pushgateway.data unless told otherwise:
    every test server would share that file.)
    """

    binary = "prometheus-pushgateway"

    def arguments(self, folder: Path) -> list[str]:
        return [f"--web.listen-address={self.address}", "--persistence.file="]

    def metrics(self) -> str:
        """The Pushgateway's ``/metrics`` text (what Prometheus scrapes)."""
        return self.http.get(self.url + "/metrics").text


class Alertmanager(TestServer):
    """An Alertmanager with ``config`` (a dict or YAML text), clustering off."""

    binary = "prometheus-alertmanager"

    def __init__(self, config: dict[str, Any] | str) -> None:
        super().__init__()
        self.config = config if isinstance(config, str) else yaml.safe_dump(config)

    def prepare(self, folder: Path) -> None:
        (folder / "alertmanager.yml").write_text(self.config)

    def arguments(self, folder: Path) -> list[str]:
        return [f"--config.file={folder / 'alertmanager.yml'}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address={self.address}", "--cluster.listen-address="]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager has received and not yet resolved."""
        return list(self.http.get(self.url + "/api/v2/alerts").json())


class NodeExporter(TestServer):
    """A node exporter (the host's CPU, memory, disks and network)."""

    binary = "prometheus-node-exporter"
    ready_path = "/metrics"

    def arguments(self, folder: Path) -> list[str]:
        return [f"--web.listen-address={self.address}"]
