"""The must-show: the demo service, a known added delay, and the history as the baseline.

Two baseline runs of ``/api/slow?ms=10`` go into the history; a third run of the same code
passes the relative target; a run of the same endpoint with 50 ms more delay fails it, and
the console, JSON and Markdown reports give the delta and both intervals. On a busy machine
a 10 ms sleep answers in 10 to 40 ms at p(95); a 60 ms one never in less than 60 ms.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfgate import Verdict, stop_group
from perfgate.testing import free_port, run_targets

pytest.importorskip("perfgate_aiohttp_api")
pytest.importorskip("demo_app")
pytest.importorskip("perfgate_markdown")


def targets(port: int, delay_ms: int, history: Path) -> str:
    return f"""
        version: 1
        history: {{url: {history}, name: demo}}
        services:
          api: {{url: "http://127.0.0.1:{port}", health: /health}}
        scenarios:
          load:
            driver: http
            service: api
            executor: constant-vus
            vus: 10
            duration: 1s
            requests:
              - {{name: slow, path: "/api/slow?ms={delay_ms}"}}
        targets:
          latency:
            metric: "http.req_duration{{scenario:load}}"
            critical: p(95) < 1s
            baseline: p(95) <= +50%
        validators:
          baseline: {{against: history, runs: 5}}
        reporters:
          console: {{}}
          json: {{}}
          markdown: {{path: report.md}}
        """


@pytest.fixture
def demo_port() -> Iterator[int]:
    """The demo service, one process for every run of the test (its delay is per request)."""
    port = free_port()
    service = subprocess.Popen([sys.executable, "-m", "demo_app", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                if service.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        stop_group(service, 10)


def test_a_known_added_delay_fails_against_the_history_and_the_same_code_passes(
        tmp_path, capsys, demo_port):
    history = tmp_path / "runs.db"
    port = demo_port

    def run(name: str, delay_ms: int):
        outcome = run_targets(targets(port, delay_ms, history), output_dir=tmp_path / name)
        check = next(c for c in outcome.result.checks if c.name == "latency vs baseline")
        return outcome, check

    for i in range(2):
        outcome, _ = run(f"base{i}", 10)
        assert outcome.result.run["status"] == "completed", outcome.result.errors
    _, check = run("same", 10)
    assert check.verdict is Verdict.PASS, check.message
    assert "over 2 runs" in check.message
    capsys.readouterr()

    slowed, check = run("slowed", 60)
    assert check.verdict is Verdict.FAIL, check.message
    assert slowed.exit_code == 1
    assert check.measured >= 60
    found = re.search(r"over 3 runs \(([-+][0-9.]+)%\)", check.message)
    assert found, check.message
    change = float(found.group(1))
    assert change > 50
    assert check.message.count("[") == 2, check.message  # both intervals are given
    console = capsys.readouterr().out
    assert check.message.split(" → ")[0] in console
    written = json.loads((tmp_path / "slowed" / "result.json").read_text())
    assert any(c["message"] == check.message for c in written["checks"])
    markdown = (tmp_path / "slowed" / "report.md").read_text()
    assert f"{change:+.1f}%" in markdown and "over 3 runs" in markdown
