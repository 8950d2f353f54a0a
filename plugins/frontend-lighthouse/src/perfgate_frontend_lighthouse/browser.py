"""One headless Chromium for one Lighthouse run: started here, stopped here, nothing left behind.

Lighthouse is not left to start Chromium itself: chrome-launcher starts it as the leader of a
session of its own, so a Lighthouse that crashes or is killed leaves a browser behind that
nobody can stop by process group. Here Chromium is started in a process group (a session) of
perfgate's making, with a new empty profile folder and ``--remote-debugging-port=0``; the port
it chose is read from ``DevToolsActivePort`` in the profile, and Lighthouse connects to it
with ``--port``.

Stopping kills the whole process group, then every process that is not in it but belongs to
this browser all the same: its descendants, and the crash handler (``chrome_crashpad_handler``
daemonises into a session of its own; it is found by the profile folder in its command line,
a path made for this browser alone). Then the profile folder is removed.

With a ``guard`` (``perfgate.watchdog()``), each folder is registered as soon as it is made
and the process group as soon as Chromium is started, before it has opened its port: a
perfgate killed while Chromium starts leaves nothing behind either.

Flags are given once each (a second ``--headless=new`` makes Chromium fall back to the old
headless mode): new headless, no sandbox when running as root (Chromium refuses to start as
root with it), and the flags that keep Chromium off the network on its own (no background
networking, component updates, sync, first-run, default apps or extensions), which a closed
network would otherwise refuse many times a second.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

import psutil

#: Flags every browser gets, besides the profile folder and the debugging port.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless=new",
    # Nothing of Chromium's own goes to the network: a closed network refuses it, an open one
    # adds traffic to the measurement.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-component-extensions-with-background-pages",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
    "InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater,"
    "AutofillServerCommunication,PrivacySandboxSettings4",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--mute-audio",
    # A page measured in a background tab must not be throttled as one.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    "--disable-hang-monitor",
    # Lighthouse traces the page; Chromium's background tracing would take the tracer first.
    "--force-fieldtrials=*BackgroundTracing/default/",
)
#: Flags the browser owns: a ``chrome_flags`` entry may not set them.
RESERVED_FLAGS = ("--remote-debugging-port", "--remote-debugging-pipe", "--user-data-dir")
#: Less free space than this in /dev/shm (a container's 64 MB) crashes Chromium's renderers.
_SMALL_SHM = 1 << 30


def _short_tmp() -> str:
    """The temporary folder, or /tmp where that one's path is too long for sockets in it."""
    tmp = tempfile.gettempdir()
    return tmp if len(tmp) <= 40 or not os.access("/tmp", os.W_OK) else "/tmp"


class Guard(Protocol):
    """Something that stops registered process groups and removes registered folders if
    this process dies without doing it (``perfgate.watchdog()`` is one)."""

    def add_group(self, pgid: int, grace: float = 5.0) -> None: ...

    def remove_group(self, pgid: int) -> None: ...

    def add_path(self, path: str | Path) -> None: ...

    def remove_path(self, path: str | Path) -> None: ...


class BrowserError(Exception):
    """Chromium did not start, or did not say which port it listens on."""


def default_flags() -> list[str]:
    """:data:`CHROMIUM_FLAGS` plus what this machine needs (root, a small /dev/shm)."""
    flags = list(CHROMIUM_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")
    with contextlib.suppress(OSError):
        if shutil.disk_usage("/dev/shm").free < _SMALL_SHM:
            flags.append("--disable-dev-shm-usage")
    return flags


def _flag_name(flag: str) -> str:
    return flag.split("=", 1)[0]


def check_flags(extra: Sequence[str]) -> list[str]:
    """Problems with extra Chromium flags: reserved ones, and ones set twice differently."""
    problems = []
    given = {_flag_name(flag): flag for flag in default_flags()}
    for flag in extra:
        name = _flag_name(flag)
        if not flag.startswith("--"):
            problems.append(f"{flag!r} is not a Chromium flag (flags start with --)")
        elif name in RESERVED_FLAGS:
            problems.append(f"{name} is set by perfgate for every browser and cannot be given")
        elif name in given and given[name] != flag:
            problems.append(f"{flag} conflicts with {given[name]} (each Chromium flag is given "
                            "once)")
        given.setdefault(name, flag)
    return problems


def browser_flags(extra: Sequence[str]) -> list[str]:
    """The default flags and then ``extra``, each flag once."""
    flags = default_flags()
    for flag in extra:
        if flag not in flags:
            flags.append(flag)
    return flags


class Browser:
    """A headless Chromium in a process group of its own, with a throwaway profile.

    ::

        with Browser("/usr/bin/chromium") as browser:
            port = browser.port       # for lighthouse --port
        # here every process of that browser is gone and its profile removed
    """

    def __init__(self, chromium: str, extra_flags: Sequence[str] = (),
                 start_timeout: float = 30.0, guard: Guard | None = None) -> None:
        self.chromium = chromium
        self.extra_flags = list(extra_flags)
        self.start_timeout = start_timeout
        self.guard = guard
        self.profile: Path | None = None
        #: Chromium's temporary folder (``TMPDIR``), removed with the profile.
        self.scratch: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        #: Every process this browser was seen to have, by id (see :meth:`leftovers`).
        self.seen: dict[int, psutil.Process] = {}
        self._log: Path | None = None

    def start(self) -> int:
        """Start Chromium and wait for its debugging port; raise :class:`BrowserError`."""
        self.profile = Path(tempfile.mkdtemp(prefix="perfgate-chromium-"))
        if self.guard is not None:
            self.guard.add_path(self.profile)
        self._log = self.profile / "chromium.log"
        argv = [self.chromium, *browser_flags(self.extra_flags),
                f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"]
        # Chromium's crash database and caches go into the profile, not into $HOME, and its
        # temporary files into a folder of this browser's (a killed Chromium leaves its own
        # behind): removing both removes them. That folder is short, because Chromium puts a
        # Unix socket in it and a socket's path has at most 107 bytes.
        self.scratch = Path(tempfile.mkdtemp(prefix="pgc-", dir=_short_tmp()))
        if self.guard is not None:
            self.guard.add_path(self.scratch)
        env = {**os.environ, "XDG_CONFIG_HOME": str(self.profile),
               "XDG_CACHE_HOME": str(self.profile), "TMPDIR": str(self.scratch)}
        with open(self._log, "wb") as log:
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT, env=env,
                                             start_new_session=True)
            except OSError as exc:
                self.stop()
                raise BrowserError(f"cannot start {self.chromium}: {exc}") from None
        if self.guard is not None:
            self.guard.add_group(self.proc.pid, grace=2.0)
        with contextlib.suppress(psutil.Error):
            self.seen[self.proc.pid] = psutil.Process(self.proc.pid)
        try:
            self.port = self._wait_for_port()
        except BaseException:
            self.stop()
            raise
        return self.port

    def _wait_for_port(self) -> int:
        assert self.proc is not None and self.profile is not None
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError(f"{self.chromium} exited with code {self.proc.returncode} "
                                   f"as it started: {self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                lines = marker.read_text().split()
                if len(lines) >= 2:  # written in two steps: wait for the second line
                    return int(lines[0])
            time.sleep(0.05)
        raise BrowserError(f"{self.chromium} did not open its debugging port within "
                           f"{self.start_timeout:g}s: {self.log_tail()}")

    def log_tail(self, lines: int = 3) -> str:
        """The last meaningful lines Chromium printed, on one line."""
        if self._log is None:
            return "no output"
        try:
            text = self._log.read_text(errors="replace")
        except OSError:
            return "no output"
        # Chromium complains about D-Bus on every start without a desktop: not the cause.
        kept = [line.strip() for line in text.splitlines()
                if line.strip() and "dbus" not in line.lower()]
        return " | ".join(kept[-lines:]) or "no output"

    def _members(self) -> list[psutil.Process]:
        """Live processes of this browser: its group, its descendants, its crash handler."""
        found: dict[int, psutil.Process] = {}
        if self.proc is not None:
            with contextlib.suppress(psutil.Error):
                leader = psutil.Process(self.proc.pid)
                found[leader.pid] = leader
                for child in leader.children(recursive=True):
                    found[child.pid] = child
        group = self.proc.pid if self.proc is not None else None
        marker = str(self.profile) if self.profile is not None else ""
        for process in psutil.process_iter(["cmdline"]):
            if process.pid in found:
                continue
            try:
                in_group = group is not None and os.getpgid(process.pid) == group
                in_profile = bool(marker) and any(marker in arg
                                                  for arg in process.info["cmdline"] or ())
            except (OSError, psutil.Error):
                continue
            if in_group or in_profile:
                found[process.pid] = process
        alive = []
        for process in found.values():
            with contextlib.suppress(psutil.Error):
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
        return alive

    def leftovers(self) -> list[int]:
        """Ids of processes this browser was seen to have that still run (zombies aside)."""
        left = []
        for process in self.seen.values():
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(process.pid)
        return sorted(left)

    def stop(self) -> None:
        """Kill every process of this browser, wait until they are gone, remove the profile.

        Safe to call at any time, also twice, also from a signal's path.
        """
        if self.proc is not None:
            members = self._members()
            self.seen.update((p.pid, p) for p in members)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            for process in members:
                with contextlib.suppress(psutil.Error):
                    process.kill()  # psutil checks the start time: never a reused pid
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            psutil.wait_procs(members, timeout=10)
            # Children that were starting as the group was killed.
            late = self._members()
            self.seen.update((p.pid, p) for p in late)
            for process in late:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(late, timeout=10)
        if self.guard is not None and self.proc is not None:
            self.guard.remove_group(self.proc.pid)
        for folder in (self.profile, self.scratch):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
                if self.guard is not None:
                    self.guard.remove_path(folder)
        self.profile = self.scratch = None
        self._log = None

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
