"""Measuring pages: each page in each preset, several runs, aggregated; no perfgate inside.

::

    engine = Engine(lighthouse="/path/to/lighthouse", chromium="/usr/bin/chromium",
                    reports=Path("reports/lighthouse"), runs=3)
    result = engine.measure("http://127.0.0.1:8000/", preset="desktop")
    result.values["frontend.lcp"]        # (412.0, "ms"), from the median run
    result.representative.html_path      # that run's HTML report

Every run gets a browser of its own (an empty profile: a first visit, as Lighthouse CI does)
and its reports are kept as ``<reports>/<prefix><page>-<preset>-<n>.report.{json,html}``.
A run that fails is recorded and the next one goes on. A stop request ends the measurement at
once: the runs done are kept and :attr:`PageResult.interrupted` is set. A browser that cannot
start raises :class:`~perfgate_frontend_lighthouse.browser.BrowserError`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from perfgate_frontend_lighthouse.aggregate import aggregate, median_run
from perfgate_frontend_lighthouse.browser import Browser, Guard
from perfgate_frontend_lighthouse.lhr import LighthouseResult, read_result
from perfgate_frontend_lighthouse.runner import (
    Interrupted,
    LighthouseFailed,
    LighthouseProcess,
    StopSignal,
    run_lighthouse,
)


def slug(text: str) -> str:
    """A file-name part for a page: ``http://127.0.0.1:8000/a/b`` → ``127.0.0.1_8000_a_b``."""
    parts = urlsplit(text)
    if parts.scheme and parts.netloc:
        text = parts.netloc + parts.path + (f"_{parts.query}" if parts.query else "")
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_.")
    return cleaned[:80] or "root"


@dataclass
class PageResult:
    """One page in one preset: its runs, the failed ones, and the aggregated numbers."""

    page: str
    url: str
    preset: str
    aggregation: str
    runs: list[LighthouseResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    representative: LighthouseResult | None = None
    #: perfgate metric → (value, unit) over the runs, by :attr:`aggregation`.
    values: dict[str, tuple[float, str]] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    #: A stop request ended the measurement before every run was done (the runs done are
    #: kept; the one cut is not).
    interrupted: bool = False


class Engine:
    """Runs Lighthouse ``runs`` times per page and preset and aggregates the runs."""

    def __init__(self, lighthouse: str, chromium: str, reports: Path, *, runs: int = 3,
                 categories: Sequence[str] = ("performance",),
                 settings: Mapping[str, Any] | None = None, chrome_flags: Sequence[str] = (),
                 aggregation: str = "median-run", timeout: float = 120.0,
                 stopping: StopSignal | None = None,
                 watch: Callable[[Browser, LighthouseProcess], None] | None = None,
                 guard: Guard | None = None) -> None:
        if runs < 1:
            raise ValueError("runs must be at least 1")
        self.lighthouse = lighthouse
        self.chromium = chromium
        self.reports = reports
        self.runs = runs
        self.categories = list(categories)
        self.settings = dict(settings or {})
        self.chrome_flags = list(chrome_flags)
        self.aggregation = aggregation
        self.timeout = timeout
        self.stopping = stopping
        #: Called with each run's browser and Lighthouse process once both run.
        self.watch = watch
        #: Told about every browser and Lighthouse process while it runs (see ``runner``).
        self.guard = guard

    def measure(self, url: str, preset: str = "mobile", page: str | None = None,
                prefix: str = "") -> PageResult:
        """Measure ``url`` :attr:`runs` times in ``preset``; ``page`` names it in file names."""
        result = PageResult(page or url, url, preset, self.aggregation, started=time.time())
        for number in range(1, self.runs + 1):
            base = self.reports / f"{prefix}{slug(page or url)}-{preset}-{number}"
            try:
                files = run_lighthouse(
                    self.lighthouse, self.chromium, url, base, preset=preset,
                    categories=self.categories, settings=self.settings,
                    chrome_flags=self.chrome_flags, timeout=self.timeout,
                    stopping=self.stopping, watch=self.watch,
                    guard=self.guard)
                result.runs.append(read_result(files.json, files.html))
            except Interrupted:
                result.interrupted = True
                break
            except (LighthouseFailed, ValueError) as exc:
                result.failures.append(f"run {number}: {exc}")
        result.finished = time.time()
        if result.runs:
            try:
                result.representative = median_run(result.runs)
            except ValueError as exc:
                result.failures.append(f"no median run: {exc}")
            if result.representative is not None or self.aggregation != "median-run":
                result.values = aggregate(result.runs, self.aggregation)
        return result
