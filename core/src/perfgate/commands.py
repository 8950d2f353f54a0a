"""Commands plugins add to the ``perfgate`` command line (``perfgate history``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfgate.context import RunOptions
    from perfgate.result import ResultDocument
    from perfgate.targets import TargetsFile

#: The core's own commands: a plugin's command cannot take one of these names.
BUILTIN_COMMANDS = ("run", "check", "plugins", "demo")


@dataclass(frozen=True)
class Command:
    """One ``perfgate NAME ...`` command a plugin brings.

    ``configure`` adds the command's arguments to its :class:`argparse.ArgumentParser`;
    ``run`` gets the parsed arguments and returns the exit code (0 fine, 1 the gate or the
    check it makes failed, 2 wrong usage, 3 broken). A :class:`perfgate.ConfigError` it
    raises is printed and exits 2, any other :class:`perfgate.PerfgateError` exits with its
    code, as for ``perfgate run``.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def load_targets_file(path: str | os.PathLike[str]) -> TargetsFile:
    """Read and check a targets file with every installed plugin, as ``perfgate check`` does.

    :raises perfgate.ConfigError: the file is wrong (every problem, with file, line and key).
    """
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost

    return load_targets(Path(path), PluginHost.load())


def run_targets_file(path: str | os.PathLike[str], options: RunOptions,
                     plugins: Sequence[Any] = ()) -> ResultDocument:
    """Run a targets file as ``perfgate run`` does, for a command that runs one: plugins
    loaded, the file checked, services always stopped, reports written; ``plugins`` (objects
    with hook implementations) are registered on top for this run only.

    :return: the final result document; its ``exit_code`` is the run's.
    :raises perfgate.ConfigError: the file is wrong.
    """
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost, extra_plugins
    from perfgate.run import execute

    with extra_plugins(*plugins):
        host = PluginHost.load()
        targets = load_targets(Path(path), host)
        return execute(targets, host, options).result
