"""The driver's temporary folders: named after perfgate's PID, stale ones removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from perfgate_k6_driver.workdir import PREFIX, remove_stale


def test_folders_of_perfgate_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"{PREFIX}{gone.pid}-abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "samples.json").write_text("{}")
    mine = tmp_path / f"{PREFIX}{os.getpid()}-def"
    mine.mkdir()
    other = tmp_path / "perfgate-other"
    other.mkdir()
    assert remove_stale(tmp_path) == [stale]
    assert not stale.exists()
    assert mine.exists() and other.exists()
