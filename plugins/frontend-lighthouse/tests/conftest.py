"""Fixtures: the real Chromium and Lighthouse, the test pages, and a check after every test
that no browser left a folder behind.

Lighthouse takes 10 to 20 seconds a run here, so the suite runs it as few times as it can:
one run per page unless a test is about several runs, and the servers are shared by the
session.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from perfgate_frontend_lighthouse.testpages import TestPages
from perfgate_frontend_lighthouse.tools import Tool, ToolMissing, find_chromium, find_lighthouse


@dataclass(frozen=True)
class Tools:
    chromium: Tool
    lighthouse: Tool


#: What a browser run makes in a temporary folder: Chromium's own folders and shared memory
#: files (``org.chromium.Chromium.*``), the plugin's profiles and Chromium's ``TMPDIR``
#: (``perfgate-chromium-*``, ``pgc-*``), chrome-launcher's profiles (``lighthouse.*``).
BROWSER_LEFTOVERS = ("org.chromium.", ".org.chromium.", "perfgate-chromium-", "pgc-",
                     "lighthouse.")


def browser_folders() -> set[Path]:
    """Entries of /tmp, the temporary folder and /dev/shm that a browser run makes."""
    found = set()
    for root in {Path("/tmp"), Path(tempfile.gettempdir()), Path("/dev/shm")}:
        with contextlib.suppress(OSError):
            found |= {entry for entry in root.iterdir()
                      if entry.name.startswith(BROWSER_LEFTOVERS)}
    return found


def in_use(paths: set[Path]) -> set[Path]:
    """Those of ``paths`` a live process names in its command line or environment (a run
    going on in another test session on this machine)."""
    used = set()
    for process in psutil.process_iter(["cmdline", "environ"]):
        text = " ".join([*(process.info["cmdline"] or ()),
                         *(process.info["environ"] or {}).values()])
        used |= {path for path in paths if str(path) in text}
    return used


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Every test leaves no browser folder in /tmp, the temporary folder or /dev/shm.

    The watchdog removes a killed perfgate's folders a moment after it died, so the check
    waits up to 15 s for them to go; a folder a live process still names belongs to a run
    going on elsewhere and does not count.
    """
    before = browser_folders()
    yield
    deadline = time.monotonic() + 15
    while True:
        left = browser_folders() - before
        left -= in_use(left)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, f"left behind: {sorted(map(str, left))}"


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Chromium and Lighthouse as the plugin finds them; skipped (a failure in CI) if missing."""
    try:
        return Tools(find_chromium(), find_lighthouse())
    except ToolMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pages() -> Iterator[TestPages]:
    with TestPages() as served:
        yield served
