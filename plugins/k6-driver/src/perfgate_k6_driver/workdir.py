"""The driver's temporary folder for one k6 run (the entry module, k6's samples and summary).

Its name carries perfgate's PID (``perfgate-k6-<pid>-<random>``). The driver removes it when
the run ends; the watchdog removes it if perfgate is killed first; and every run removes the
folders of perfgate processes that no longer exist, so none piles up in the temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from perfgate import watchdog

PREFIX = "perfgate-k6-"
#: A folder of the old form, without a PID, is stale once it is this old (seconds).
_UNOWNED_AFTER = 3600.0


def create_workdir() -> Path:
    """A new folder for one run, after removing stale ones; the watchdog knows about it."""
    remove_stale()
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    watchdog().add_path(path)
    return path


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    watchdog().remove_path(path)


def remove_stale(folder: Path | None = None) -> list[Path]:
    """Remove the folders left by perfgate processes that are gone; return them."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(PREFIX + "*"):
        if path.is_dir() and _stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _stale(path: Path) -> bool:
    owner = path.name[len(PREFIX):].split("-", 1)[0]
    if not owner.isdigit():
        with contextlib.suppress(OSError):
            return time.time() - path.stat().st_mtime > _UNOWNED_AFTER
        return False
    try:
        os.kill(int(owner), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's perfgate, alive
        return False
    return False
