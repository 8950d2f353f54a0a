"""One Lighthouse run: a fresh browser, the Lighthouse CLI against it, both stopped after.

::

    lighthouse <url> --port=<the browser's> --output=json --output=html
               --output-path=<base> --only-categories=performance [--preset=desktop]
               [settings as flags] --quiet

Lighthouse writes ``<base>.report.json`` and ``<base>.report.html``. It runs in a process
group of its own, with ``TMPDIR`` inside the browser's profile folder: should it ever start a
Chromium of its own (chrome-launcher does when nothing answers on ``--port``), that browser's
profile is in there too, and stopping the browser finds and stops it.

Lighthouse is stopped (its group, SIGKILL) when the run takes longer than its timeout, when
the browser dies under it, and when ``stopping`` is set (Ctrl-C); the browser is stopped in
every case.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from perfgate_frontend_lighthouse.browser import Browser, Guard

#: Lighthouse's ``--preset`` for each preset name; mobile is Lighthouse's default config.
PRESETS: dict[str, str | None] = {"mobile": None, "desktop": "desktop"}


class StopSignal(Protocol):
    """What says a measurement must end now: a ``threading.Event`` is one."""

    def is_set(self) -> bool: ...


class LighthouseFailed(Exception):
    """Lighthouse did not produce a usable result for a page."""


class Interrupted(Exception):
    """The run was asked to stop (Ctrl-C, SIGTERM) while Lighthouse was running."""


def _flag(name: str, value: Any) -> list[str]:
    if isinstance(value, Mapping):
        if name == "extraHeaders":  # the CLI takes the headers as one JSON object
            return [f"--{name}={json.dumps(dict(value))}"]
        return [flag for key, item in value.items() for flag in _flag(f"{name}.{key}", item)]
    if isinstance(value, bool):
        return [f"--{name}={'true' if value else 'false'}"]
    if isinstance(value, list | tuple):
        if name == "blockedUrlPatterns":  # patterns may contain commas: one flag each
            return [f"--{name}={item}" for item in value]
        return [f"--{name}={','.join(str(item) for item in value)}"]
    return [f"--{name}={value}"]


def settings_flags(settings: Mapping[str, Any]) -> list[str]:
    """Lighthouse settings as its CLI flags.

    ``{throttling: {rttMs: 40}}`` → ``--throttling.rttMs=40``; lists are comma-separated
    (``blockedUrlPatterns`` one flag a pattern), ``extraHeaders`` one JSON object.
    """
    return [flag for name, value in settings.items() if value is not None
            for flag in _flag(name, value)]


def lighthouse_argv(lighthouse: str, url: str, port: int, base: Path, preset: str,
                    categories: Sequence[str], settings: Mapping[str, Any]) -> list[str]:
    """The command line of one run."""
    argv = [lighthouse, url, f"--port={port}", "--hostname=127.0.0.1", "--output=json",
            "--output=html", f"--output-path={base}", "--quiet"]
    if categories:
        argv.append(f"--only-categories={','.join(categories)}")
    lighthouse_preset = PRESETS[preset]
    if lighthouse_preset:
        argv.append(f"--preset={lighthouse_preset}")
    return argv + settings_flags(settings)


@dataclass
class RunFiles:
    """What one run wrote: Lighthouse's JSON result and its HTML report."""

    json: Path
    html: Path


def _tail(path: Path, lines: int = 4) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "no output"
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    # With --quiet, what Lighthouse prints is its error; a stack trace follows the message.
    first = [line for line in kept if not line.startswith("at ")]
    return " | ".join(first[:lines]) or "no output"


def _runtime_error(path: Path) -> str | None:
    """Lighthouse's ``runtimeError`` from a result it wrote, if there is one."""
    with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
        error = json.loads(path.read_text()).get("runtimeError")
        if error:
            return f"{error.get('code')}: {error.get('message')}"
    return None


class LighthouseProcess:
    """The Lighthouse CLI in a process group of its own."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.argv = list(argv)
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=dict(env),
                                         start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the group and reap Lighthouse; safe to call twice."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def run_lighthouse(lighthouse: str, chromium: str, url: str, base: Path, *,
                   preset: str = "mobile", categories: Sequence[str] = ("performance",),
                   settings: Mapping[str, Any] | None = None,
                   chrome_flags: Sequence[str] = (), timeout: float = 120.0,
                   stopping: StopSignal | None = None,
                   watch: Callable[[Browser, LighthouseProcess], None] | None = None,
                   guard: Guard | None = None) -> RunFiles:
    """Measure ``url`` once; return the files Lighthouse wrote next to ``base``.

    Raises :class:`LighthouseFailed` (with Lighthouse's own words where it said any) or
    :class:`Interrupted`; ``perfgate_frontend_lighthouse.browser.BrowserError`` when Chromium
    does not start. ``watch(browser, process)`` is called once both run (tests watch their
    processes). ``guard`` gets the browser's and Lighthouse's process groups and the profile
    folder while they exist, so that they go even if this process is killed.
    """
    base.parent.mkdir(parents=True, exist_ok=True)
    files = RunFiles(Path(f"{base}.report.json"), Path(f"{base}.report.html"))
    for stale in (files.json, files.html):
        stale.unlink(missing_ok=True)
    log = Path(f"{base}.lighthouse.log")
    # The browser tells the guard of its folders and process group as it makes them.
    browser = Browser(chromium, chrome_flags, guard=guard)
    process: LighthouseProcess | None = None
    try:
        port = browser.start()
        assert browser.profile is not None and browser.proc is not None
        scratch = browser.profile / "lighthouse-tmp"  # removed with the profile
        scratch.mkdir()
        argv = lighthouse_argv(lighthouse, url, port, base, preset, categories, settings or {})
        process = LighthouseProcess(argv, {**os.environ, "TMPDIR": str(scratch)}, log)
        if guard is not None:
            guard.add_group(process.proc.pid, grace=2.0)
        if watch is not None:
            watch(browser, process)
        deadline = time.monotonic() + timeout
        while True:
            try:
                code = process.proc.wait(0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            if stopping is not None and stopping.is_set():
                raise Interrupted(f"stopped while Lighthouse was measuring {url}")
            if browser.proc is not None and browser.proc.poll() is not None:
                raise LighthouseFailed(f"Chromium exited (code {browser.proc.returncode}) "
                                       f"while Lighthouse was measuring {url}: "
                                       f"{browser.log_tail()}")
            if time.monotonic() > deadline:
                raise LighthouseFailed(f"Lighthouse did not finish {url} within {timeout:g}s")
    finally:
        if process is not None:
            process.kill()
            if guard is not None:
                guard.remove_group(process.proc.pid)
        browser.stop()
    if code != 0:
        reason = _runtime_error(files.json)
        if reason is None:
            how = f"signal {-code}" if code < 0 else f"code {code}"
            reason = f"Lighthouse exited with {how}: {_tail(log)}"
        raise LighthouseFailed(f"{url}: {reason}")
    if not files.json.exists():
        raise LighthouseFailed(f"{url}: Lighthouse exited without writing {files.json.name}: "
                               f"{_tail(log)}")
    log.unlink(missing_ok=True)
    return files
