"""Ctrl-C on the real ``perfgate`` command while Lighthouse measures: nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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


def start_perfgate(tmp_path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    """``perfgate run`` measuring ``url``, once Chromium runs; and the folder of its profiles."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
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
    time.sleep(1.0)  # Lighthouse is connecting or navigating
    return proc, str(scratch)


def test_ctrl_c_stops_lighthouse_and_chromium_and_writes_the_reports(tools, pages, tmp_path):
    proc, scratch = start_perfgate(tmp_path, pages.url("/slow"))
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
    assert processes_under(scratch) == []
    assert list((tmp_path / "tmp").iterdir()) == []  # every profile removed


def test_a_killed_perfgate_leaves_no_chromium(tools, pages, tmp_path):
    proc, scratch = start_perfgate(tmp_path, pages.url("/slow"))
    os.kill(proc.pid, signal.SIGKILL)  # only perfgate: the watchdog must do the rest
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while (processes_under(scratch) or list((tmp_path / "tmp").iterdir())) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_under(scratch) == []
    assert list((tmp_path / "tmp").iterdir()) == []
