"""The ``http`` load driver: runs an :class:`HttpScenario` in this process or in workers."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from perfgate import (
    ConfigError,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    RunContext,
    TargetSpec,
    driver_health_target,
)
from perfgate_aiohttp_api.engine import Live, run_engine
from perfgate_aiohttp_api.plan import Plan, PlanInput, all_prepared
from perfgate_aiohttp_api.recorder import summary
from perfgate_aiohttp_api.scenario import HttpScenario
from perfgate_aiohttp_api.tracing import slowest_details
from perfgate_aiohttp_api.workers import run_workers

#: Share of health ticks behind schedule above which the result carries a note.
NOTE_BEHIND = 0.05

_METRICS = [
    MetricInfo("http.req_duration", Kind.TREND, "ms",
               "request time; open model: from the scheduled start"),
    MetricInfo("http.req_waiting", Kind.TREND, "ms", "request written to first response byte"),
    MetricInfo("http.req_receiving", Kind.TREND, "ms", "first to last response byte"),
    MetricInfo("http.req_connecting", Kind.TREND, "ms", "TCP connection setup"),
    MetricInfo("http.req_tls_handshaking", Kind.TREND, "ms",
               "TLS handshake of a new https:// connection"),
    MetricInfo("http.reqs", Kind.COUNTER, "", "requests completed"),
    MetricInfo("http.req_failed", Kind.RATE, "ratio",
               "share of requests with an error or an unexpected status"),
    MetricInfo("iterations", Kind.COUNTER, "",
               "iterations completed (a flow that ended early: tagged error)"),
    MetricInfo("iteration_duration", Kind.TREND, "ms", "one iteration, think time included"),
    MetricInfo("dropped_iterations", Kind.COUNTER, "",
               "open model: starts skipped because max_vus were busy"),
    MetricInfo("vus", Kind.GAUGE, "", "VUs running an iteration (open model: busy VUs)"),
    MetricInfo("vus_max", Kind.GAUGE, "", "VUs allocated"),
    MetricInfo("data_received", Kind.COUNTER, "B", "bytes received"),
    MetricInfo("data_sent", Kind.COUNTER, "B", "bytes sent"),
    MetricInfo("checks", Kind.RATE, "ratio", "share of response checks that passed"),
    MetricInfo("perfgate.driver.cpu", Kind.GAUGE, "%",
               "CPU of a driver process, % of one core"),
    MetricInfo("perfgate.driver.schedule_lag", Kind.TREND, "ms",
               "how late iterations (open model) or the event loop (closed) ran"),
    MetricInfo("perfgate.driver.behind_schedule", Kind.RATE, "ratio",
               "share of 100 ms ticks in which the driver was saturated or late"),
    MetricInfo("perfgate.driver.internal_errors", Kind.COUNTER, "",
               "iterations ended by an unexpected exception in the driver (a bug)"),
]


class HttpDriver(LoadDriver[HttpScenario]):
    """HTTP load with k6's executors, fast enough not to measure itself."""

    name = "http"
    summary = "HTTP load: k6 executors, open/closed model, checks, flows, worker processes"

    def __init__(self, config: HttpScenario, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self._stop = threading.Event()
        self._details: dict[str, Any] = {}

    @classmethod
    def produces(cls, config: HttpScenario) -> list[MetricInfo]:
        return list(_METRICS)

    @classmethod
    def builtin_targets(cls, config: HttpScenario) -> dict[str, TargetSpec]:
        return {"driver-health": driver_health_target(
            "the load generator was saturated (CPU) or behind schedule")}

    def interrupt(self) -> None:
        self._stop.set()

    def details(self) -> dict[str, Any]:
        return self._details

    def _should_stop(self) -> bool:
        return self._stop.is_set() or self.context.stopping.is_set()

    def run(self) -> MetricSet:
        scenario = self.config
        inp = PlanInput(
            scenario=scenario.model_dump(by_alias=True, exclude_unset=True),
            scenario_name=self.instance,
            base_url=self.context.service_url(scenario.service) if scenario.service else None,
            time_scale=self.context.scale(1.0),
            allow_hosts=tuple(self.context.targets.model.allow_hosts),
        )
        plan = Plan.build(inp)
        for req in all_prepared(plan.items):
            if not req.templated:
                self.context.check_load_allowed(req.url)
            elif not req.url.startswith("${"):
                # the host part is fixed even when the path is a template
                self.context.check_load_allowed(req.url.split("${", 1)[0])
        workers = _workers(scenario.workers)
        progress = self.context.progress
        if progress is not None:
            progress.update(planned=plan.planned_duration(), requests=0, errors=0, vus=0)
        started = time.time()
        if workers == 1:
            def publish(live: Live) -> None:
                if progress is not None:
                    progress.update(requests=live.requests, errors=live.errors, vus=live.vus)

            metrics, interrupted, slowest = run_engine(plan, should_stop=self._should_stop,
                                                       publish=publish, deltas=self.publish)
        else:
            def report(requests: int, errors: int, vus: int, vus_max: int) -> None:
                if progress is not None:
                    progress.update(requests=requests, errors=errors, vus=vus)

            metrics, interrupted, started, ended, slowest = run_workers(
                inp, workers, self._should_stop, report, deltas=self.publish)
            metrics.set_window(started, ended)
        self._review(metrics, workers, interrupted)
        if scenario.trace is not None:
            self._details["slowest"] = slowest_details(slowest)
        return metrics

    def _review(self, metrics: MetricSet, workers: int, interrupted: bool) -> None:
        """Self-check: note when the load generator, not the service, set the pace."""
        for metric in metrics.select("perfgate.driver.internal_errors"):
            if not metric.aggregate("count"):
                continue
            self.fail(f"{metric.aggregate('count'):.0f} iterations failed inside the driver: "
                      f"{metric.tags.get('error')}")
        unfinished = sum(m.aggregate("count") or 0
                         for m in metrics.select("http.reqs", {"error": "interrupted"}))
        if unfinished:
            why = ("the run was interrupted" if interrupted
                   else f"graceful_stop ({self.config.graceful_stop:g}s) was over")
            self.context.note(
                f"scenario {self.instance}: {unfinished:.0f} request(s) were still in flight "
                f"when {why}; they count as failed (error: interrupted), timed until then")
        health = summary(metrics)
        health["workers"] = workers
        health["unfinished_requests"] = int(unfinished)
        health["interrupted"] = interrupted
        self._details = {"driver": health}
        behind = health.get("behind_schedule") or 0.0
        if behind > NOTE_BEHIND:
            lag = health.get("schedule_lag_p99_ms")
            self.context.note(
                f"scenario {self.instance}: the http load generator was saturated or behind "
                f"schedule in {behind:.0%} of the run (CPU up to "
                f"{health.get('cpu_max') or 0:.0f}% of a core, lag p99 "
                f"{lag if lag is not None else 0:.1f} ms); latencies include the driver's own "
                "delays. Use workers: auto, fewer VUs or a lower rate.")


def _workers(value: int | str) -> int:
    if value == "auto":
        try:
            return max(len(os.sched_getaffinity(0)), 1)
        except AttributeError:  # pragma: no cover - not Linux
            return os.cpu_count() or 1
    if not isinstance(value, int) or value < 1:
        raise ConfigError(f"workers: expected a number >= 1 or auto, got {value!r}")
    return value
