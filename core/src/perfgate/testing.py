"""Helpers for testing perfgate plugins, shipped as a pytest plugin (loaded automatically).

- ``perfgate_plugin``: a fixture; ``perfgate_plugin(obj)`` registers a plugin object (a module,
  class or instance with ``@hookimpl`` functions) for the current test only.
- :func:`run_targets`: run a targets file (a path, YAML text or a dict) in-process and get
  the :class:`~perfgate.run.RunOutcome` (result document and exit code) back.

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
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from perfgate.context import RunOptions
from perfgate.loader import load_targets
from perfgate.plugins import PluginHost, extra_plugins
from perfgate.run import RunOutcome, execute

__all__ = ["RunOutcome", "perfgate_plugin", "run_targets"]


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
                baseline: Path | None = None,
                environ: dict[str, str] | None = None) -> RunOutcome:
    """Check and run a targets file in this process, with ``plugins`` registered on top.

    A :class:`perfgate.ConfigError` propagates (that is exit code 2 on the command line).
    Inline YAML or a dict is written to ``targets.yml`` in ``output_dir`` (or a temp folder).
    """
    folder = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    path = _as_file(source, folder)
    with extra_plugins(*plugins):
        host = PluginHost.load()
        targets = load_targets(path, host, environ)
        options = RunOptions(output_dir=folder, only=list(only), fail_on=fail_on,
                             time_scale=time_scale, progress=False, baseline=baseline)
        return execute(targets, host, options)


@pytest.fixture
def perfgate_plugin() -> Iterator[Callable[[Any], Any]]:
    """Register plugin objects for the current test only: ``perfgate_plugin(obj)``."""
    with contextlib.ExitStack() as stack:

        def register(plugin: Any) -> Any:
            stack.enter_context(extra_plugins(plugin))
            return plugin

        yield register
