"""What a running component can see: the targets file, the options, and the run's controls."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from perfgate.config import HistoryConfig
from perfgate.errors import BaselineError, ConfigError
from perfgate.live import LiveRun
from perfgate.redact import Redactor
from perfgate.result import Baseline

if TYPE_CHECKING:
    from perfgate.plugins import PluginHost
    from perfgate.progress import Progress
    from perfgate.result import ResultDocument
    from perfgate.targets import TargetsFile


@dataclass
class RunOptions:
    """Options from the command line (or :func:`perfgate.testing.run_targets`)."""

    output_dir: Path = Path(".")
    only: list[str] = field(default_factory=list)
    fail_on: str = "fail"  # or "warn"
    time_scale: float = 1.0
    progress: bool | None = None  # None: only when stderr is a terminal
    baseline: Path | None = None
    #: ``--history URL``: where runs are kept, instead of the targets file's ``history.url``.
    history: str | None = None


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_allowed(url: str, allow_hosts: list[str] | tuple[str, ...]) -> bool:
    """True if load may go to ``url``: its host is loopback or listed in ``allow_hosts``."""
    host = urlsplit(url).hostname or ""
    return host_allowed(host, allow_hosts)


def host_allowed(host: str, allow_hosts: list[str] | tuple[str, ...]) -> bool:
    """True if load may go to ``host`` by its name: loopback or listed in ``allow_hosts``."""
    return is_loopback(host) or host in allow_hosts


def address_allowed(host: str, address: str, allow_hosts: list[str] | tuple[str, ...]) -> bool:
    """True if a connection to ``host`` that reached ``address`` stayed where load may go.

    A host listed under ``allow_hosts`` may be at any address: the user named it. A host
    allowed for being loopback by its name (``localhost``, ``api.localhost``) must have
    reached a loopback address, since a name can resolve anywhere (an ``/etc/hosts`` line, a
    resolver that does not keep ``.localhost`` local). An empty ``address`` is a Unix socket.
    """
    if host in allow_hosts or not address:
        return True
    try:
        return ipaddress.ip_address(address.split("%")[0].strip("[]")).is_loopback
    except ValueError:
        return False


def resolved_elsewhere(host: str, allow_hosts: list[str] | tuple[str, ...]) -> str | None:
    """The first address ``host`` resolves to that is not loopback, for a host allowed only
    by its name looking loopback; None when there is none (or the name does not resolve,
    which the connection will say), or the host is an address or listed in ``allow_hosts``.

    Checked before connecting, so that no password goes where load may not go.
    """
    if host in allow_hosts or not is_loopback(host):
        return None
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        address = str(info[4][0])
        if not address_allowed(host, address, allow_hosts):
            return address
    return None


def refusal(host: str, address: str | None = None) -> str:
    """The message that refuses load to ``host`` (reached at ``address``)."""
    if address is None:
        return (f"refusing to send load to {host!r}: only loopback and hosts listed under "
                "allow_hosts: in the targets file are allowed")
    return (f"refusing to talk to {host!r}: it resolved to {address}, which is not a "
            "loopback address, and the host is not listed under allow_hosts: in the targets "
            "file")


def _absolute_path(url: str, folder: Path) -> str:
    """A history URL with a plain relative file path made absolute from ``folder``."""
    if "://" in url or url.startswith("sqlite:") or Path(url).is_absolute():
        return url
    return str(folder / url)


class RunContext:
    """Handed to every component: read-only facts plus the run's stop signal and progress."""

    def __init__(self, targets: TargetsFile, options: RunOptions,
                 progress: Progress | None = None, live: LiveRun | None = None,
                 host: PluginHost | None = None) -> None:
        self.targets = targets
        self.options = options
        self.progress = progress
        #: The run's live metrics: what drivers and collectors published so far, scenario
        #: windows and states, and :meth:`~perfgate.LiveRun.subscribe` for live updates.
        self.live = live if live is not None else LiveRun()
        #: Set on Ctrl-C / SIGTERM: load loops check it and wind down.
        self.stopping = threading.Event()
        self.started_at = time.time()
        self._notes: list[str] = []
        #: The services perfgate started: name → the process group id of each (its leader's
        #: PID). Their processes are measured as the service, not as the load generator.
        self.service_groups: dict[str, int] = {}
        self._secrets = set(targets.secrets)
        self._redactor = Redactor(self._secrets)
        self._baselines: dict[Path, Baseline] = {}
        self._host = host
        if host is not None and self.history is not None and not host.keeps_history():
            self.note("history: is set, but no installed plugin keeps a run history "
                      "(pip install perfgate-history): this run is not kept")

    @property
    def service_pids(self) -> set[int]:
        """Process group ids of the services perfgate started."""
        return set(self.service_groups.values())

    @property
    def output_dir(self) -> Path:
        return self.options.output_dir

    def scale(self, seconds: float) -> float:
        """A load duration after ``--time-scale`` (durations of load, not timeouts)."""
        return seconds * self.options.time_scale

    def report_path(self, path: str | Path) -> Path:
        """A report path from the targets file, relative to ``--output``."""
        p = Path(path)
        return p if p.is_absolute() else self.output_dir / p

    def service_url(self, service: str | None, path: str = "") -> str:
        """The URL of ``path`` on a service from the targets file."""
        if service is None:
            return path
        base = self.targets.services[service].url + "/"
        return urljoin(base, path.lstrip("/")) if path else base.rstrip("/")

    def check_load_allowed(self, url: str) -> None:
        """Refuse load against a host that is neither loopback nor listed in ``allow_hosts``."""
        self.check_host_allowed(urlsplit(url).hostname or "")

    def check_host_allowed(self, host: str) -> None:
        """Refuse to talk to ``host`` (a name or an address) unless it is loopback or listed
        in ``allow_hosts``: call it before connecting. A name allowed for looking loopback
        (``api.localhost``) is resolved, and every address it has must be loopback.

        :raises perfgate.ConfigError: with the refusal, which becomes the component's error.
        """
        allow_hosts = self.targets.model.allow_hosts
        if not host_allowed(host, allow_hosts):
            raise ConfigError(refusal(host))
        elsewhere = resolved_elsewhere(host, allow_hosts)
        if elsewhere is not None:
            raise ConfigError(refusal(host, elsewhere))

    def check_connected(self, host: str, address: str) -> None:
        """Refuse a connection to ``host`` that reached ``address``: call it once connected,
        with the peer address, and close the connection if it raises.

        A name that is loopback by its looks (``api.localhost``) must have reached a loopback
        address; a host listed in ``allow_hosts`` may be anywhere (see
        :func:`address_allowed`).

        :raises perfgate.ConfigError: with the refusal, naming the address.
        """
        if not address_allowed(host, address, self.targets.model.allow_hosts):
            raise ConfigError(refusal(host, address))

    def add_secret(self, *values: str) -> None:
        """Mask these values too, wherever they appear (every component's ``SecretStr``
        options are added when it is made; add what a component learns on its own)."""
        new = {v for v in values if v} - self._secrets
        if new:
            self._secrets |= new
            self._redactor = Redactor(self._secrets)

    @property
    def redactor(self) -> Redactor:
        """The run's redactor: its secret values, URL passwords and password clauses."""
        return self._redactor

    def redact(self, text: str) -> str:
        """``text`` with the run's secret values and anything shaped like a password masked."""
        return self._redactor.text(text)

    def baseline_path(self, configured: str | Path | None = None) -> Path | None:
        """The baseline to compare with: ``--baseline`` first, else a component's option
        ``configured`` (relative to the targets file's folder); None without either."""
        if self.options.baseline is not None:
            return Path(self.options.baseline)
        if configured is None:
            return None
        path = Path(configured)
        return path if path.is_absolute() else self.targets.folder / path

    def baseline(self, configured: str | Path | None = None) -> Baseline | None:
        """The baseline result document (see :meth:`baseline_path`), read once per run.

        :raises perfgate.BaselineError: the file is missing or not a result document; the
            message names it and says why.
        """
        path = self.baseline_path(configured)
        if path is None:
            return None
        if path not in self._baselines:
            self._baselines[path] = Baseline.load(path)
        return self._baselines[path]

    @property
    def history(self) -> HistoryConfig | None:
        """Where runs are kept: the targets file's ``history:`` with ``--history URL`` taking
        precedence over its ``url``; a relative SQLite path is made absolute (from the
        targets file's folder, or the current folder for ``--history``). None without
        either."""
        configured = self.targets.model.history
        if self.options.history is not None:
            url = _absolute_path(self.options.history, Path.cwd())
            return (configured.model_copy(update={"url": url}) if configured is not None
                    else HistoryConfig(url=url))
        if configured is None:
            return None
        return configured.model_copy(
            update={"url": _absolute_path(configured.url, self.targets.folder)})

    def history_runs(self, runs: int, branch: str | None = None) -> list[ResultDocument]:
        """The latest ``runs`` earlier runs of this targets file from the run history,
        newest first (of ``branch`` only, if given).

        :raises perfgate.BaselineError: no history is configured, no plugin keeps one, or it
            cannot be read.
        """
        if self.history is None:
            raise BaselineError("against: history needs a run history: history: in the "
                                "targets file, or --history URL")
        found = self._host.history_runs(self, runs, branch) if self._host else None
        if found is None:
            raise BaselineError("no installed plugin keeps a run history (pip install "
                                "perfgate-history)")
        return found

    def window(self, scenario: str) -> tuple[float, float | None] | None:
        """``(start, end)`` of a scenario's run in epoch seconds (``end`` is None while it
        runs), or None if it has not started: for collectors that query a server over a
        scenario's window themselves."""
        return self.live.window(scenario)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the run is stopping."""
        return self.stopping.wait(seconds)

    def note(self, text: str) -> None:
        """A remark for the result document's ``notes`` (measurement validity and the like)."""
        self._notes.append(self.redact(text))

    def notes(self) -> list[str]:
        return list(self._notes)
