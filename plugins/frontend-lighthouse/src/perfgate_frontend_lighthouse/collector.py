"""The ``frontend-lighthouse`` collector: page speed before and after the load, or during a
scenario.

``start()`` finds Chromium and Lighthouse (a missing one raises :class:`perfgate.RunError`
saying what to install, so the checks on its metrics get an ``error`` verdict), then measures
the ``before`` pages at once: the scenarios wait for them, the page is measured at rest.
``stop()`` measures the ``after`` pages. With perfgate's ``during: <scenario>`` the core
starts the collector when that scenario starts and stops it when it ends; a thread of the
collector's own measures the pages from ``start()`` (plus ``delay``) until ``stop()``, and a
run still going when the scenario ends is cut and not counted, because it was not wholly
under load.

Every number is a gauge tagged ``page``, ``url``, ``preset`` and ``when`` (``before``,
``during`` or ``after``), sampled when the runs ended. Audits beyond the fixed metrics
(``frontend.audit.<id>``, ``frontend.audit_score.<id>``) are recorded when a target names
them or ``audits:`` lists them. ``details`` holds each page's runs, numbers and report
paths (relative to the output folder).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from perfgate import (
    Collector,
    ConfigError,
    Kind,
    MetricInfo,
    MetricSet,
    RunContext,
    RunError,
    watchdog,
)
from perfgate_frontend_lighthouse.browser import BrowserError
from perfgate_frontend_lighthouse.config import LighthouseConfig
from perfgate_frontend_lighthouse.engine import Engine, PageResult
from perfgate_frontend_lighthouse.lhr import (
    AUDIT_PREFIX,
    AUDIT_SCORE_PREFIX,
    LOAD_TIME,
    METRIC_AUDITS,
    score_metric,
    unit_of,
)
from perfgate_frontend_lighthouse.tools import (
    Tool,
    ToolMissing,
    find_chromium,
    find_lighthouse,
    find_node,
)

BENCHMARK_INDEX = "frontend.benchmark_index"
#: The numbers each page shows in ``details`` and in the Markdown report.
SUMMARY = ("frontend.performance_score", "frontend.fcp", "frontend.lcp", "frontend.tbt",
           "frontend.cls", "frontend.speed_index", "frontend.tti", "frontend.load_time",
           "frontend.total_byte_weight")
_DESCRIPTIONS = {
    "frontend.fcp": "First Contentful Paint",
    "frontend.lcp": "Largest Contentful Paint",
    "frontend.tbt": "Total Blocking Time",
    "frontend.cls": "Cumulative Layout Shift",
    "frontend.speed_index": "Speed Index",
    "frontend.tti": "Time to Interactive",
    "frontend.total_byte_weight": "bytes the page downloaded",
    LOAD_TIME: "navigation start to the load event, observed (never simulated)",
}


class _Halt:
    """Stop a measurement when the run stops (Ctrl-C) or when its phase ends."""

    def __init__(self, run_stopping: threading.Event) -> None:
        self.run_stopping = run_stopping
        self.phase_over = threading.Event()

    def is_set(self) -> bool:
        return self.run_stopping.is_set() or self.phase_over.is_set()


class FrontendLighthouse(Collector[LighthouseConfig]):
    """Runs Lighthouse against pages and hands back its numbers as gauges."""

    name = "frontend-lighthouse"
    summary = ("page speed from the real Lighthouse in headless Chromium (scores, Web Vitals, "
               "load time), before or after the load, or during a scenario")

    @classmethod
    def produces(cls, config: LighthouseConfig) -> list[MetricInfo]:
        infos = [MetricInfo(score_metric(c), Kind.GAUGE, "ratio", f"Lighthouse {c} score")
                 for c in config.categories]
        infos += [MetricInfo(m, Kind.GAUGE, unit_of(m), _DESCRIPTIONS.get(m, ""))
                  for m in (*METRIC_AUDITS, LOAD_TIME)]
        infos += [
            # Each audit has a unit of its own (ms, B or none): thresholds are checked
            # against the unit measured.
            MetricInfo(AUDIT_PREFIX + "*", None, "", "an audit's numericValue (gauge)"),
            MetricInfo(AUDIT_SCORE_PREFIX + "*", Kind.GAUGE, "ratio", "an audit's score"),
            MetricInfo(BENCHMARK_INDEX, Kind.GAUGE, "", "Lighthouse's CPU benchmark of the "
                       "host (median over the runs)"),
        ]
        return infos

    def __init__(self, config: LighthouseConfig, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self.metrics = MetricSet()
        self.tools: dict[str, Tool] = {}
        self.pages: list[dict[str, Any]] = []
        self.reports = Path()
        self._urls: list[tuple[str, str]] = []
        self._audits: set[str] = set()
        self._during: threading.Thread | None = None
        self._during_halt = _Halt(context.stopping)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._urls = self._resolve_pages()
        try:
            self.tools = {"chromium": find_chromium(self.config.chromium),
                          "node": find_node(),
                          "lighthouse": find_lighthouse(self.config.lighthouse)}
        except ToolMissing as exc:
            raise RunError(str(exc)) from None
        self._audits = self._wanted_audits()
        self.reports = self.context.report_path(self.config.reports) / self.instance
        phases = self.config.phases()
        if "before" in phases:
            self._measure_pages("before", _Halt(self.context.stopping))
        if "during" in phases and not self.context.stopping.is_set():
            self._during = threading.Thread(target=self._measure_during,
                                            name=f"perfgate-{self.instance}", daemon=True)
            self._during.start()

    def stop(self) -> MetricSet:
        if self._during is not None:
            self._during_halt.phase_over.set()  # the scenario is over: cut a run still going
            self._during.join()
        if "after" in self.config.phases() and not self.context.stopping.is_set():
            self._measure_pages("after", _Halt(self.context.stopping))
        return self.metrics

    def details(self) -> dict[str, Any]:
        return {
            "tools": {name: {"version": tool.version, "path": tool.path}
                      for name, tool in self.tools.items()},
            "runs": self.config.runs,
            "aggregation": self.config.aggregation,
            "reports": self._relative(self.reports) if self.tools else None,
            "pages": self.pages,
        }

    # -- measuring -------------------------------------------------------------------------
    def _resolve_pages(self) -> list[tuple[str, str]]:
        service = self.config.service
        if service is not None and service not in self.context.targets.services:
            known = ", ".join(self.context.targets.services) or "none"
            raise ConfigError(f"{self.instance}: unknown service {service!r} (defined: "
                              f"{known})")
        urls = []
        for name, page in self.config.page_list():
            url = page if page.startswith(("http://", "https://")) else (
                self.context.service_url(service, page))
            self.context.check_load_allowed(url)
            urls.append((name, url))
        return urls

    def _wanted_audits(self) -> set[str]:
        """Audit ids a target names (``frontend.audit.dom-size``) or ``audits:`` lists."""
        wanted = set(self.config.audits)
        for target in self.context.targets.targets:
            for prefix in (AUDIT_PREFIX, AUDIT_SCORE_PREFIX):
                if target.metric.startswith(prefix):
                    wanted.add(target.metric[len(prefix):])
        return wanted

    def _engine(self, halt: _Halt) -> Engine:
        config = self.config
        return Engine(self.tools["lighthouse"].path, self.tools["chromium"].path, self.reports,
                      runs=config.runs, categories=config.categories,
                      settings=config.settings.flags_mapping(),
                      chrome_flags=config.chrome_flags, aggregation=config.aggregation,
                      timeout=config.timeout, stopping=halt, guard=watchdog())

    def _measure_during(self) -> None:
        deadline = time.monotonic() + self.config.delay
        while time.monotonic() < deadline:
            if self._during_halt.is_set():
                self.fail(f"{self.instance}: scenario {self.config.during} ended within delay: "
                          f"{self.config.delay:g}s, before any page was measured under it")
                return
            time.sleep(0.05)
        try:
            self._measure_pages("during", self._during_halt)
        except Exception as exc:  # a thread's exception would be lost: record it
            self.fail(f"{self.instance}: {type(exc).__name__}: {exc}")

    def _measure_pages(self, when: str, halt: _Halt) -> None:
        engine = self._engine(halt)
        for name, url in self._urls:
            for preset in self.config.presets:
                if halt.is_set():
                    return
                try:
                    result = engine.measure(url, preset, page=name, prefix=f"{when}-")
                except BrowserError as exc:
                    self.fail(f"{self.instance}: {exc}")
                    return
                self._record(result, when, halt)
                if result.interrupted:
                    return

    def _record(self, result: PageResult, when: str, halt: _Halt) -> None:
        label = f"{result.page} ({result.preset}, {when})"
        for failure in result.failures:
            self.fail(f"{self.instance}: {label}: {failure}")
        if result.interrupted:
            done = f"{len(result.runs)} of {self.config.runs} runs done"
            if halt.run_stopping.is_set():
                self.fail(f"{self.instance}: {label}: interrupted ({done})")
            else:
                self.fail(f"{self.instance}: {label}: scenario {self.config.during} ended "
                          f"while Lighthouse was still measuring the page under it ({done}; "
                          "a cut run does not count): give the scenario more time, or "
                          "measure fewer pages, presets or runs")
        tags = {"page": result.page, "url": result.url, "preset": result.preset,
                "when": when}
        for metric, (value, unit) in result.values.items():
            audit = metric.removeprefix(AUDIT_PREFIX).removeprefix(AUDIT_SCORE_PREFIX)
            if audit != metric and audit not in self._audits:
                continue
            self.metrics.gauge(metric, tags, unit=unit).add(value, result.finished)
        benchmarks = [r.benchmark_index for r in result.runs if r.benchmark_index]
        if benchmarks:
            self.metrics.gauge(BENCHMARK_INDEX, tags).add(statistics.median(benchmarks),
                                                          result.finished)
        self.pages.append(self._page_details(result, when))

    def _relative(self, path: Path | None) -> str | None:
        if path is None:
            return None
        return os.path.relpath(path, self.context.output_dir)

    def _page_details(self, result: PageResult, when: str) -> dict[str, Any]:
        representative = result.representative
        return {
            "page": result.page, "url": result.url, "preset": result.preset, "when": when,
            # the scenario a ``during`` page was measured under
            "scenario": self.config.during if when == "during" else None,
            "started": result.started, "finished": result.finished,
            "aggregation": result.aggregation,
            "values": {m: result.values[m][0] for m in SUMMARY if m in result.values},
            "report": self._relative(representative.html_path) if representative else None,
            "runs": [{
                "report": self._relative(run.html_path), "json": self._relative(run.json_path),
                "fetch_time": run.fetch_time, "benchmark_index": run.benchmark_index,
                "lighthouse_version": run.lighthouse_version, "user_agent": run.user_agent,
                "warnings": run.warnings,
                "values": {m: run.value(m) for m in SUMMARY if run.value(m) is not None},
            } for run in result.runs],
            "failures": result.failures,
        }
