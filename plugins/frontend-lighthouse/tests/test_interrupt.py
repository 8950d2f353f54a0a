"""Ctrl-C on the real ``perfgate`` command while Lighthouse measures: nothing left behind.

perfgate runs with a short ``TMPDIR`` of the test's own, so that the browser's profile and
Chromium's temporary folder (which must be short: it holds a Unix socket) are both made in
it: the test sees them go. The fixture ``nothing_left_behind`` checks /tmp as well.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow


def processes_under(folder: str) -> list[psutil.Process]:
    """Live processes whose command line names ``folder`` (every Chromium profile is in it)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(folder in arg for arg in process.info["cmdline"] or ()):
            found.append(process)
    return found


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short temporary folder for perfgate (under 40 characters: Chromium's goes in it)."""
    folder = Path(tempfile.mkdtemp(prefix="pgt-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_perfgate(tmp_path, scratch: Path, url: str,
                   settle: float = 1.0) -> tuple[subprocess.Popen[bytes], str]:
    """``perfgate run`` measuring ``url``, ``settle`` s after Chromium started; and the folder
    of its profiles."""
    (tmp_path / "targets.yml").write_text(f"""
version: 1
collectors:
  frontend-lighthouse: {{pages: ["{url}"], presets: [desktop], runs: 3}}
targets:
  lcp: {{metric: frontend.lcp, target: value < 2500ms}}
reporters: {{json: {{path: result.json}}}}
""")
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "perfgate.cli", "run",
                             str(tmp_path / "targets.yml"), "--output", str(tmp_path / "out")],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not any("chromium" in " ".join(p.info["cmdline"] or ())
                  for p in processes_under(str(scratch))):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"Chromium never started: {proc.communicate()[0]!r}")
        time.sleep(0.1)
    time.sleep(settle)  # Lighthouse is connecting or navigating
    return proc, str(scratch)


def test_ctrl_c_stops_lighthouse_and_chromium_and_writes_the_reports(tools, pages, tmp_path,
                                                                     scratch):
    proc, folder = start_perfgate(tmp_path, scratch, pages.url("/slow"))
    # both the profile and Chromium's own temporary folder are in it
    assert {p.name[:4] for p in scratch.iterdir()} >= {"perf", "pgc-"}
    try:
        os.kill(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, output
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["run"]["status"] == "interrupted"
    assert result["exit_code"] == 130
    assert processes_under(folder) == []
    assert list(scratch.iterdir()) == []  # every profile and temporary folder removed


def test_a_killed_perfgate_leaves_no_chromium(tools, pages, tmp_path, scratch):
    # Killed as soon as Chromium runs, before it has opened its port: the browser told the
    # watchdog of its process group and folders as it made them.
    proc, folder = start_perfgate(tmp_path, scratch, pages.url("/slow"), settle=0.0)
    os.kill(proc.pid, signal.SIGKILL)  # only perfgate: the watchdog must do the rest
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while (processes_under(folder) or list(scratch.iterdir())) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_under(folder) == []
    assert list(scratch.iterdir()) == []
