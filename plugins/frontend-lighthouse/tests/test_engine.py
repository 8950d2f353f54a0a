"""The engine against the real Lighthouse and Chromium: numbers, runs, reports, no leftovers."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from perfgate_frontend_lighthouse import testpages
from perfgate_frontend_lighthouse.browser import Browser
from perfgate_frontend_lighthouse.engine import Engine, PageResult
from perfgate_frontend_lighthouse.runner import LighthouseProcess

pytestmark = pytest.mark.slow


class Watcher:
    """Keeps every browser and Lighthouse process the engine started."""

    def __init__(self) -> None:
        self.browsers: list[Browser] = []
        self.processes: list[LighthouseProcess] = []
        self.cmdlines: list[list[str]] = []
        self.profiles: list[Path] = []

    def __call__(self, browser: Browser, process: LighthouseProcess) -> None:
        self.browsers.append(browser)
        self.processes.append(process)
        assert browser.proc is not None
        self.cmdlines.append(psutil.Process(browser.proc.pid).cmdline())
        assert browser.profile is not None and browser.scratch is not None
        self.profiles += [browser.profile, browser.scratch]

    def leftovers(self) -> list[int | Path]:
        """Processes still running and profile folders still there."""
        left: list[int | Path] = [pid for b in self.browsers for pid in b.leftovers()]
        left += [profile for profile in self.profiles if profile.exists()]
        for process in self.processes:
            if process.proc.poll() is None:
                left.append(process.proc.pid)
        return left


@dataclass
class Measured:
    result: PageResult
    watcher: Watcher
    reports: Path


@pytest.fixture(scope="module")
def slow_page(tools, pages, tmp_path_factory) -> Measured:
    """The slow page measured twice, unthrottled (``throttlingMethod: provided``), so the
    numbers are the page's own delays; shared by the tests below (a run is 10 to 20 s)."""
    watcher = Watcher()
    reports = tmp_path_factory.mktemp("engine") / "lighthouse"
    result = Engine(tools.lighthouse.path, tools.chromium.path, reports, watch=watcher,
                    runs=2, settings={"throttlingMethod": "provided",
                                      "disableFullPageScreenshot": True}).measure(
        pages.url("/slow"), preset="desktop", page="slow")
    return Measured(result, watcher, reports)


def test_slow_page_numbers_follow_what_the_page_does(slow_page):
    result = slow_page.result
    assert result.failures == []
    run = result.representative
    assert run is not None
    values = {name: value for name, (value, _unit) in result.values.items()}
    # Nothing paints before the blocking script has arrived and run.
    assert values["frontend.fcp"] >= testpages.BLOCKING_SCRIPT_DELAY * 1000
    # The largest element is the image, answered after IMAGE_DELAY.
    image_ms = testpages.IMAGE_DELAY * 1000
    assert image_ms <= values["frontend.lcp"] <= image_ms + 1500
    # TBT counts what the one long task lasts beyond 50 ms.
    blocking = testpages.LONG_TASK_MS - 50
    assert blocking - 100 <= values["frontend.tbt"] <= blocking + 400
    # The load event waits for the image too.
    assert values["frontend.load_time"] >= image_ms
    assert values["frontend.total_byte_weight"] >= testpages.BLOCKING_SCRIPT_BYTES + 800 * 600 * 3
    assert values["frontend.performance_score"] < 0.9
    assert result.values["frontend.lcp"][1] == "ms"
    assert result.values["frontend.performance_score"][1] == "ratio"
    assert result.values["frontend.audit.dom-size"][1] == ""
    assert result.values["frontend.audit_score.largest-contentful-paint"][0] < 0.9
    # The settings reached Lighthouse; the preset too.
    assert (run.throttling_method, run.form_factor) == ("provided", "desktop")
    lhr = json.loads(run.json_path.read_text())
    assert lhr["configSettings"]["disableFullPageScreenshot"] is True
    assert run.benchmark_index and run.benchmark_index > 0
    assert run.html_path is not None and run.html_path.stat().st_size > 10_000
    # Chromium had its flags once each, new headless among them.
    for cmdline in slow_page.watcher.cmdlines:
        headless = [arg for arg in cmdline if arg.startswith("--headless")]
        assert headless == ["--headless=new"]
        assert "--disable-background-networking" in cmdline
    assert slow_page.watcher.leftovers() == []


def test_several_runs_are_kept_and_the_median_run_is_one_of_them(slow_page):
    result, watcher = slow_page.result, slow_page.watcher
    assert len(result.runs) == 2 and len(watcher.browsers) == 2  # a browser each
    reports = sorted(p.name for p in slow_page.reports.iterdir())
    assert reports == ["slow-desktop-1.report.html", "slow-desktop-1.report.json",
                       "slow-desktop-2.report.html", "slow-desktop-2.report.json"]
    # Every number comes from one of the runs (which one: see test_aggregate.py).
    assert result.representative in result.runs
    assert result.values == result.representative.values
    assert watcher.leftovers() == []


def test_a_lighthouse_killed_mid_run_leaves_no_chromium(tools, pages, tmp_path):
    watcher = Watcher()

    def kill_later(browser: Browser, process: LighthouseProcess) -> None:
        watcher(browser, process)
        threading.Timer(2.0, os.kill, (process.proc.pid, signal.SIGKILL)).start()

    started = time.monotonic()
    result = Engine(tools.lighthouse.path, tools.chromium.path, tmp_path / "lh", runs=1,
                    watch=kill_later).measure(pages.url("/slow"), preset="desktop")
    assert time.monotonic() - started < 15
    assert result.runs == [] and result.values == {}
    [failure] = result.failures
    assert "Lighthouse exited with signal 9" in failure
    assert len(watcher.browsers[0].seen) > 1  # Chromium had started its helper processes
    assert watcher.leftovers() == []


def test_a_stop_request_ends_the_run_at_once(tools, pages, tmp_path):
    watcher = Watcher()
    stopping = threading.Event()

    def stop_later(browser: Browser, process: LighthouseProcess) -> None:
        watcher(browser, process)
        threading.Timer(1.5, stopping.set).start()

    started = time.monotonic()
    result = Engine(tools.lighthouse.path, tools.chromium.path, tmp_path / "lh", runs=3,
                    stopping=stopping, watch=stop_later).measure(pages.url("/slow"))
    assert time.monotonic() - started < 8
    assert result.interrupted and result.runs == [] and result.failures == []
    assert len(watcher.browsers) == 1  # the other runs never started
    assert watcher.leftovers() == []
