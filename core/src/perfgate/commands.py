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
    from perfgate.plugins import PluginHost
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


def plugin_commands(host: PluginHost) -> tuple[list[Command], list[str]]:
    """The commands the loaded plugins add, and a message for each one that could not be
    added (a plugin that raised, a name taken already)."""
    found: dict[str, Command] = {}
    problems: list[str] = []
    for impl in reversed(host.pm.hook.perfgate_register_commands.get_hookimpls()):
        plugin = impl.plugin_name.rsplit(":", 1)[0]
        added: list[Command] = []
        try:
            impl.function(**({"register": added.append} if "register" in impl.argnames
                             else {}))
        except Exception as exc:
            problems.append(f"plugin {plugin!r} failed to add its commands: "
                            f"{type(exc).__name__}: {exc}")
            continue
        for command in added:
            if command.name in BUILTIN_COMMANDS or command.name in found:
                problems.append(f"plugin {plugin!r} adds the command {command.name!r}, "
                                "which exists already; it is left out")
                continue
            found[command.name] = command
    return list(found.values()), problems


def load_targets_file(path: str | os.PathLike[str]) -> TargetsFile:
    """Read and check a targets file with every installed plugin, as ``perfgate check`` does.

    :raises perfgate.ConfigError: the file is wrong (every problem, with file, line and key).
    """
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost

    return load_targets(Path(path), PluginHost.load())


def run_targets_file(path: str | os.PathLike[str], options: RunOptions,
                     plugins: Sequence[Any] = (),
                     environ: dict[str, str] | None = None) -> ResultDocument:
    """Run a targets file as ``perfgate run`` does, for a command that runs one: plugins
    loaded, the file checked, services always stopped, reports written; ``plugins`` (objects
    with hook implementations) are registered on top for this run only; ``environ`` is what
    ``${env:...}`` reads (default: ``os.environ``).

    :return: the final result document; its ``exit_code`` is the run's.
    :raises perfgate.ConfigError: the file is wrong.
    """
    from perfgate.lifecycle import execute
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost, extra_plugins

    with extra_plugins(*plugins):
        host = PluginHost.load()
        targets = load_targets(Path(path), host, environ, options.only)
        return execute(targets, host, options).result
