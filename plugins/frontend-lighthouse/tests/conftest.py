"""Fixtures: the real Chromium and Lighthouse, the test pages, the demo service.

Lighthouse takes 10 to 20 seconds a run here, so the suite runs it as few times as it can:
one run per page unless a test is about several runs, and the servers are shared by the
session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from perfgate.testing import free_port
from perfgate_frontend_lighthouse.testpages import TestPages
from perfgate_frontend_lighthouse.tools import Tool, ToolMissing, find_chromium, find_lighthouse


@dataclass(frozen=True)
class Tools:
    chromium: Tool
    lighthouse: Tool


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


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo service's address, started once for the session and stopped by its group."""
    port = free_port()
    db = tmp_path_factory.mktemp("demo") / "records.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "demo_app", "--port", str(port),
                             "--db", str(db)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the demo service did not start (exit {proc.poll()})")
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
