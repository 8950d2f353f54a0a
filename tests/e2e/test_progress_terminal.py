"""The progress display of a real ``perfgate run`` whose stderr is a terminal (a pty)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

from harness import Perfgate

TARGETS = """\
version: 1
scenarios:
  first: {driver: synthetic, duration: 1500ms, operations: 10}
  second: {driver: synthetic, duration: 1s, start_time: 300ms, operations: 10}
targets:
  ops: {metric: synthetic.ops, critical: count == 20}
reporters:
  console: {}
  json: {path: out/result.json}
"""


def test_a_terminal_shows_a_table_of_every_running_scenario(tmp_path: Path) -> None:
    perfgate = Perfgate(tmp_path)
    path = perfgate.write(TARGETS)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen([*perfgate.command(), "run", str(path)], cwd=tmp_path,
                            env={**perfgate.env, "TERM": "xterm-256color"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                            start_new_session=True)
    os.close(follower)
    drawn = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    drawn += os.read(leader, 65536)
                except OSError:  # the terminal's other end closed: perfgate is done
                    break
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        os.close(leader)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    text = drawn.decode(errors="replace")
    assert code == 0, (stdout, text)
    assert "\x1b[" in text  # drawn in place
    for word in ("scenario", "time", "requests", "error rate", "first", "second"):
        assert word in text, text
    assert "perfgate: PASS" in stdout
