"""Commands plugins add to the ``perfgate`` command line (``perfgate history``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
