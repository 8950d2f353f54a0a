"""Finding Chromium, Node.js and Lighthouse, asking each for its version, installing Lighthouse.

Chromium comes from the system (Debian's ``chromium`` package); Lighthouse from npm. Where
each is looked for, first match wins:

- Chromium: the configured path; ``$CHROME_PATH`` (what Lighthouse CI and chrome-launcher
  read); ``chromium``, ``chromium-browser``, ``google-chrome-stable``, ``google-chrome`` on
  ``PATH``.
- Lighthouse: the configured path; the cache folder this plugin manages
  (:func:`cache_folder`, filled by :func:`install_lighthouse`, which is what
  ``python -m perfgate_frontend_lighthouse install`` runs); ``lighthouse`` on ``PATH``.

When one is missing, :class:`ToolMissing` says exactly what to install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The Lighthouse release the plugin installs and is tested with: the newest 12.x (13 needs
#: Node.js 22.19 or newer).
LIGHTHOUSE_VERSION = "12.8.2"
#: Chromium executables looked for on ``PATH``, in this order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")

_CHROMIUM_VERSION = re.compile(r"(\d+\.\d+\.\d+\.\d+)")
_SEMVER = re.compile(r"v?(\d+\.\d+\.\d+\S*)")

INSTALL_CHROMIUM = ("install Chromium (Debian and Ubuntu: apt-get install chromium), or set "
                    "chromium: (or $CHROME_PATH) to a Chromium or Chrome executable")
INSTALL_NODE = "install Node.js 18.16 or newer (Debian and Ubuntu: apt-get install nodejs npm)"


class ToolMissing(Exception):
    """A tool is not installed or does not run; the message says what to install."""


@dataclass(frozen=True)
class Tool:
    """An executable and the version it reports."""

    name: str
    path: str
    version: str


def cache_folder(version: str = LIGHTHOUSE_VERSION) -> Path:
    """Where :func:`install_lighthouse` puts Lighthouse ``version``.

    ``$PERFGATE_CACHE_DIR/lighthouse/<version>``; without that variable the cache folder is
    ``$XDG_CACHE_HOME/perfgate`` (``~/.cache/perfgate``).
    """
    base = os.environ.get("PERFGATE_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "perfgate")
    return Path(base) / "lighthouse" / version


def install_hint(version: str = LIGHTHOUSE_VERSION) -> str:
    """What to run to install Lighthouse ``version`` where this plugin finds it."""
    return (f"run 'python -m perfgate_frontend_lighthouse install' (npm install --prefix "
            f"{cache_folder(version)} lighthouse@{version}), put lighthouse on PATH, or set "
            "lighthouse: to its path")


def _executable(path: str) -> str | None:
    found = shutil.which(path)
    if found:
        return found
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _version(name: str, path: str, pattern: re.Pattern[str], hint: str,
             env: dict[str, str] | None = None) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60,
                             check=False, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissing(f"{name} at {path} does not run ({exc}): {hint}") from None
    match = pattern.search(out.stdout)
    if out.returncode != 0 or match is None:
        said = (out.stderr.strip() or out.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ToolMissing(f"{name} at {path} does not run ('--version' said: {said[0]}): "
                          f"{hint}")
    return match.group(1)


@lru_cache(maxsize=16)
def _tool(name: str, path: str) -> Tool:
    if name == "chromium":
        return Tool(name, path, _version("Chromium", path, _CHROMIUM_VERSION, INSTALL_CHROMIUM))
    if name == "node":
        return Tool(name, path, _version("Node.js", path, _SEMVER, INSTALL_NODE))
    return Tool(name, path, _version("Lighthouse", path, _SEMVER, install_hint()))


def find_chromium(configured: str | None = None) -> Tool:
    """The Chromium to run, with its version (``156.0.8078.114``)."""
    if configured:
        path = _executable(configured)
        if path is None:
            raise ToolMissing(f"chromium: {configured!r} is not an executable file: "
                              f"{INSTALL_CHROMIUM}")
        return _tool("chromium", path)
    from_env = os.environ.get("CHROME_PATH")
    if from_env:
        path = _executable(from_env)
        if path is None:
            raise ToolMissing(f"$CHROME_PATH {from_env!r} is not an executable file: "
                              f"{INSTALL_CHROMIUM}")
        return _tool("chromium", path)
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return _tool("chromium", path)
    raise ToolMissing(f"Chromium is not installed (none of {', '.join(CHROMIUM_NAMES)} is on "
                      f"PATH): {INSTALL_CHROMIUM}")


def find_node() -> Tool:
    """The ``node`` on ``PATH`` that runs Lighthouse, with its version (``20.20.2``)."""
    path = shutil.which("node")
    if path is None:
        raise ToolMissing(f"Node.js is not installed (no node on PATH), Lighthouse needs it: "
                          f"{INSTALL_NODE}")
    return _tool("node", path)


def find_lighthouse(configured: str | None = None) -> Tool:
    """The Lighthouse CLI to run, with its version (``12.8.2``); needs Node.js."""
    find_node()
    if configured:
        path = _executable(configured)
        if path is None:
            raise ToolMissing(f"lighthouse: {configured!r} is not an executable file: "
                              f"{install_hint()}")
        return _tool("lighthouse", path)
    cached = cache_folder() / "node_modules" / ".bin" / "lighthouse"
    if cached.exists():
        return _tool("lighthouse", str(cached))
    path = shutil.which("lighthouse")
    if path:
        return _tool("lighthouse", path)
    raise ToolMissing(f"Lighthouse is not installed (not in {cache_folder()}, no lighthouse "
                      f"on PATH): {install_hint()}")


def install_lighthouse(version: str = LIGHTHOUSE_VERSION, folder: Path | None = None) -> Tool:
    """Install Lighthouse ``version`` with npm into ``folder`` (the cache folder by default).

    Does nothing but check the version when it is installed there already. Raises
    :class:`ToolMissing` when Node.js or npm is missing and ``RuntimeError`` when npm fails.
    """
    folder = folder or cache_folder(version)
    binary = folder / "node_modules" / ".bin" / "lighthouse"
    if binary.exists():
        _tool.cache_clear()
        tool = _tool("lighthouse", str(binary))
        if tool.version == version:
            return tool
    find_node()
    npm = shutil.which("npm")
    if npm is None:
        raise ToolMissing(f"npm is not installed, it installs Lighthouse: {INSTALL_NODE}")
    folder.mkdir(parents=True, exist_ok=True)
    argv = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund",
            "--save-exact", "--loglevel=error", f"lighthouse@{version}"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise RuntimeError(f"{' '.join(argv)} failed (exit {done.returncode}): {said}")
    _tool.cache_clear()
    return _tool("lighthouse", str(binary))
