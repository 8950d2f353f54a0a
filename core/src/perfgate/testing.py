"""Helpers for testing perfgate plugins, shipped as a pytest plugin (loaded automatically).

- ``perfgate_plugin``: a fixture; ``perfgate_plugin(obj)`` registers a plugin object (a module,
  class or instance with ``@hookimpl`` functions) for the current test only.
- :func:`run_targets`: run a targets file (a path, YAML text or a dict) in-process and get
  the :class:`~perfgate.lifecycle.RunOutcome` (result document and exit code) back; the result is
  checked against the result schema, so a plugin that puts something unserialisable or
  malformed into it fails its own tests.
- :func:`run_context`: a :class:`~perfgate.context.RunContext` for a component tested on its
  own, outside a run.
- :func:`collect`: start a :class:`~perfgate.components.SamplingCollector`, run a workload,
  stop it, and get the collector and its metrics back; options given as a mapping are
  checked as the loader checks a targets file (:func:`collector_options`).
- :func:`free_port`: a TCP port on 127.0.0.1 nobody listens on, for a server a test starts.
- :func:`outside_address` and :class:`Listener`: an address of this machine that is not
  loopback, and a TCP listener there that counts what reaches it, to show that a component
  refuses a host where load may not go without sending it anything.

::

    def test_my_collector(perfgate_plugin, tmp_path):
        perfgate_plugin(my_plugin_module)
        outcome = run_targets(\"\"\"
            version: 1
            collectors: {my-collector: {}}
            targets: {t: {metric: my.metric, target: value > 0}}
        \"\"\", output_dir=tmp_path)
        assert outcome.exit_code == 0
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from perfgate.components import Collector
from perfgate.config import ServiceConfig, TargetsFileModel
from perfgate.context import RunContext, RunOptions
from perfgate.hookspecs import hookimpl
from perfgate.lifecycle import RunOutcome, execute
from perfgate.loader import load_targets
from perfgate.metrics import MetricSet
from perfgate.plugins import PluginHost, extra_plugins
from perfgate.registry import Register
from perfgate.result import validate_result
from perfgate.sampling import SamplingCollector
from perfgate.targets import TargetsFile
from perfgate.yamlmap import LineMap

__all__ = ["Listener", "RunOutcome", "collect", "collector_options", "free_port",
           "outside_address", "perfgate_plugin", "run_context", "run_targets"]

C = TypeVar("C", bound=SamplingCollector[Any])


def _as_file(source: str | Path | dict[str, Any], folder: Path) -> Path:
    if isinstance(source, dict):
        path = folder / "targets.yml"
        path.write_text(yaml.safe_dump(source, sort_keys=False))
        return path
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("version")):
        path = folder / "targets.yml"
        path.write_text(textwrap.dedent(source))
        return path
    return Path(source)


def run_targets(source: str | Path | dict[str, Any], *, output_dir: Path | None = None,
                plugins: tuple[Any, ...] = (), time_scale: float = 1.0,
                only: tuple[str, ...] = (), fail_on: str = "fail",
                baseline: Path | None = None, history: str | None = None,
                environ: dict[str, str] | None = None) -> RunOutcome:
    """Check and run a targets file in this process, with ``plugins`` registered on top.

    A :class:`perfgate.ConfigError` propagates (that is exit code 2 on the command line).
    Inline YAML or a dict is written to ``targets.yml`` in ``output_dir``. Without
    ``output_dir`` the run writes into a temporary folder that is removed afterwards: pass
    ``tmp_path`` to keep the reports for the test to read.
    """
    with contextlib.ExitStack() as stack:
        if output_dir is None:
            output_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder = Path(output_dir)
        if not isinstance(source, Path):  # the file is written into the output folder
            folder.mkdir(parents=True, exist_ok=True)
        path = _as_file(source, folder)
        with extra_plugins(*plugins):
            host = PluginHost.load()
            targets = load_targets(path, host, environ)
            options = RunOptions(output_dir=folder, only=list(only), fail_on=fail_on,
                                 time_scale=time_scale, progress=False, baseline=baseline,
                                 history=history)
            outcome = execute(targets, host, options)
    # Every result a test produces must be a valid result document.
    validate_result(outcome.result.to_dict())
    return outcome


@pytest.fixture
def perfgate_plugin() -> Iterator[Callable[[Any], Any]]:
    """Register plugin objects for the current test only: ``perfgate_plugin(obj)``."""
    with contextlib.ExitStack() as stack:

        def register(plugin: Any) -> Any:
            stack.enter_context(extra_plugins(plugin))
            return plugin

        yield register


def run_context(*, services: dict[str, str] | None = None, allow_hosts: tuple[str, ...] = (),
                targets_path: Path | None = None, **options: Any) -> RunContext:
    """A run context for a component tested on its own, as if from a minimal targets file.

    :param services: service name → URL (``context.service_url(name)`` answers them).
    :param allow_hosts: hosts beyond loopback that load may go to.
    :param targets_path: where the targets file would be (relative paths start in its folder).
    :param options: :class:`~perfgate.context.RunOptions` fields (``output_dir``,
        ``time_scale``...).
    """
    path = Path(targets_path) if targets_path is not None else Path("targets.yml")
    model = TargetsFileModel(
        version=1, allow_hosts=list(allow_hosts),
        services={name: ServiceConfig(url=url) for name, url in (services or {}).items()})
    targets = TargetsFile(path=path, sha256="", model=model, lines=LineMap(str(path)))
    return RunContext(targets, RunOptions(**options))


def collect(collector: type[C], config: Any, workload: Callable[[], Any],
            context: RunContext | None = None) -> tuple[C, MetricSet]:
    """Start ``collector`` with ``config``, run ``workload``, stop it; return both.

    ``config`` is the collector's options model, or a mapping of its options as a targets
    file would write them (``{"interval": "100ms"}``), checked as the loader checks a
    targets file: a wrong key or value is a :class:`perfgate.ConfigError` naming it, before
    anything starts. After the workload it waits one and a half intervals, so that at least
    one sample is taken after it. ``context`` defaults to :func:`run_context` (for a mapping:
    a context of the targets file it was checked in, so its secrets are masked).
    """
    if isinstance(config, Mapping):
        config, checked = collector_options(collector, config)
        context = context or RunContext(checked, RunOptions())
    instance = collector(config, context or run_context())
    instance.start()
    try:
        workload()
        time.sleep(instance.interval * 1.5)  # at least one sample after the workload
    finally:
        metrics = instance.stop()
    return instance, metrics


def collector_options(collector: type[Collector[Any]],
                      options: Mapping[str, Any]) -> tuple[Any, TargetsFile]:
    """``options`` checked as the loader checks a collector's entry in a targets file:
    ``collectors: {<name>: options}``, ``${env:...}`` and durations with units included.

    Returns the validated options model and the checked file; raises
    :class:`perfgate.ConfigError` with the key at fault.
    """

    class _Registers:
        @staticmethod
        @hookimpl
        def perfgate_register_components(register: Register) -> None:
            register(collector)

    with tempfile.TemporaryDirectory(prefix="perfgate-collect-") as folder:
        path = Path(folder) / "targets.yml"
        path.write_text(yaml.safe_dump(
            {"version": 1, "collectors": {collector.name: dict(options)}}, sort_keys=False))
        with extra_plugins(_Registers):
            checked = load_targets(path, PluginHost.load())
    return checked.collectors[collector.name].config, checked


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def outside_address() -> str:
    """An IPv4 address of this machine that is not loopback (what a name may resolve to);
    the test is skipped on a machine without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # nothing is sent: this only picks the route
            address = str(s.getsockname()[0])
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    return address


class Listener:
    """A TCP listener on ``host`` (default :func:`outside_address`) that accepts every
    connection and counts the connections and the bytes that reached it; a context
    manager."""

    def __init__(self, host: str | None = None) -> None:
        self.host = host or outside_address()
        self.connections = 0
        self.received = 0
        self._sock = socket.create_server((self.host, 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="perfgate-listener",
                                        daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(0.5)
                with contextlib.suppress(OSError):
                    while data := conn.recv(65536):
                        self.received += len(data)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
