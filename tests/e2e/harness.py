"""Helpers for end-to-end tests: run the real ``perfgate`` command as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfgate.result import validate_result
from perfgate.testing import free_port

__all__ = ["HERE", "Finished", "Perfgate", "free_port", "pid_alive", "wait_for"]

HERE = Path(__file__).parent


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not collected it yet.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    output: Path

    def result(self) -> dict[str, Any]:
        """The run's result.json, checked against the result schema."""
        doc = json.loads((self.output / "result.json").read_text())
        validate_result(doc)
        return doc


class Perfgate:
    """Runs ``perfgate`` in a subprocess with the in-repo test plugin loaded."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = str(HERE) + os.pathsep + self.env.get("PYTHONPATH", "")
        self.env["PERFGATE_PLUGINS"] = "gateplugin"
        self.env.pop("GITHUB_STEP_SUMMARY", None)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "perfgate.cli"]

    def write(self, text: str, name: str = "targets.yml") -> Path:
        path = self.tmp / name
        path.write_text(text)
        return path

    def run(self, *args: str, timeout: float = 60) -> Finished:
        out = self.tmp / "out"
        proc = subprocess.run([*self.command(), *args], cwd=self.tmp, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        return Finished(proc.returncode, proc.stdout, proc.stderr, out)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*self.command(), *args], cwd=self.tmp, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
