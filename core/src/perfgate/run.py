"""The run lifecycle: services, collectors, scenarios, validation, reports, exit code.

Whatever happens (a plugin raises, a service never gets healthy, Ctrl-C or SIGTERM), the
services perfgate started are stopped and the reports are written with what was measured.

Exit codes: 0 the gate passed, 1 it failed (or warned with ``--fail-on warn``), 2 the targets
file or command line is wrong, 3 the run broke (a check could not be evaluated, a scenario or
a service failed), 130 / 143 interrupted by SIGINT / SIGTERM.
"""

from __future__ import annotations

import os
import platform
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from perfgate.components import Collector, Component, LoadDriver
from perfgate.context import RunContext, RunOptions
from perfgate.errors import PerfgateError, ServiceError
from perfgate.metrics import MetricSet
from perfgate.plugins import PluginHost
from perfgate.progress import Progress
from perfgate.redact import Redactor
from perfgate.result import Check, ResultDocument, Verdict
from perfgate.services import ServiceManager
from perfgate.targets import ScenarioUse, TargetsFile
from perfgate.version import __version__

EXIT_PASSED, EXIT_FAILED, EXIT_CONFIG, EXIT_BROKEN = 0, 1, 2, 3
#: Signals that stop a run, and its exit code after each: 128 + the signal's number.
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@dataclass
class RunOutcome:
    result: ResultDocument
    exit_code: int


def describe(exc: BaseException) -> str:
    """A one-line message for an exception; a traceback tail only for non-perfgate errors."""
    if isinstance(exc, PerfgateError):
        return str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


class Run:
    """One execution of a targets file. Use :func:`execute`."""

    def __init__(self, targets: TargetsFile, host: PluginHost, options: RunOptions) -> None:
        self.targets = targets
        self.host = host
        self.options = options
        enabled = True if options.progress is None else options.progress
        self.progress = Progress(enabled=enabled)
        self.context = RunContext(targets, options, self.progress)
        self.result = ResultDocument()
        self.metrics = MetricSet()
        self.services = ServiceManager(targets.services, targets.folder, options.output_dir,
                                       Redactor(targets.secrets))
        self.collectors: list[Collector[Any]] = []
        self.driver: LoadDriver[Any] | None = None
        self.signal_received: int | None = None
        self.broken = False
        #: Why the run stopped early without a signal (a started service died).
        self.stopped_because: str | None = None
        #: What the run is doing, for the message a signal prints.
        self.phase = "measure"
        self.signal_phase: str | None = None

    # -- errors ------------------------------------------------------------------------------
    def error(self, component: str, role: str, phase: str, exc: BaseException | str) -> None:
        message = self.context.redact(exc if isinstance(exc, str) else describe(exc))
        self.result.errors.append({"component": component, "role": role, "phase": phase,
                                   "message": message})

    def _hook_errors(self, phase: str, failures: list[tuple[str, BaseException]]) -> bool:
        for plugin, exc in failures:
            self.error(plugin, "plugin", phase, exc)
        return bool(failures)

    def _component_errors(self, component: Component[Any], label: str) -> None:
        for message in component.errors:
            self.error(label, component.role, "run", message)

    # -- signals -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: object) -> None:
        if self.signal_received is None:
            self.signal_received = signum
            self.signal_phase = self.phase
            name = signal.Signals(signum).name
            if self.phase == "measure":
                print(f"\nperfgate: {name} received: stopping load, writing reports...",
                      file=sys.stderr)
            else:
                print(f"\nperfgate: {name} received while {self.phase}: the load was over; "
                      f"finishing the reports, then exiting {EXIT_SIGNAL[signum]}",
                      file=sys.stderr)
        self.context.stopping.set()
        driver = self.driver
        if driver is not None:
            try:
                driver.interrupt()
            except Exception as exc:  # a broken interrupt() must not hide the signal
                self.error(driver.instance, "load_driver", "interrupt", exc)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._on_signal) for s in EXIT_SIGNAL}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    # -- services dying under test -----------------------------------------------------------
    def _on_service_exit(self, service: str, message: str) -> None:
        """A started service exited during the run: a broken run; the load stops."""
        self.error(service, "service", "run", message)
        self.broken = True
        if self.stopped_because is None:
            self.stopped_because = message.splitlines()[0].removesuffix("; last output:")
            print(f"\nperfgate: {self.stopped_because}: stopping load, writing reports...",
                  file=sys.stderr)
        self.context.stopping.set()
        driver = self.driver
        if driver is not None:
            try:
                driver.interrupt()
            except Exception as exc:
                self.error(driver.instance, "load_driver", "interrupt", exc)

    # -- phases ------------------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        started = time.time()
        with self._signals():
            try:
                self._measure()
            finally:
                self.services.stop_watching()
                for service, message in self.services.exited():  # died in the last moments
                    self._on_service_exit(service, message)
                self._stop_collectors()
                for problem in self.services.stop_all():
                    self.result.notes.append(problem)
                self.progress.close()
            finished = time.time()
            self.phase = "judging"
            self._judge(started, finished)
            self._late_signal()
            self.phase = "writing reports"
            self._report()
        for plugin, exc in self.host.run_finished(self.context, self.result,
                                                  self.result.exit_code):
            print(f"perfgate: plugin {plugin!r} failed after the run: {describe(exc)}",
                  file=sys.stderr)
        return RunOutcome(self.result, self.result.exit_code)

    def _measure(self) -> None:
        if self._hook_errors("start", self.host.run_started(self.context)):
            self.broken = True
            self._skip_scenarios("not run: a plugin failed as the run started")
            return
        try:
            self.services.start_all(self.context.stopping)
        except ServiceError as exc:
            self.error(exc.service or "services", "service", "start", exc)
            self.broken = True
            # One line here: the service's error, with its log, is in the run's errors.
            self._skip_scenarios(f"not run: {str(exc).splitlines()[0]}")
            return
        finally:
            self.context.service_pids = self.services.pids()
        self.services.watch(self._on_service_exit)
        for instance, use in self.targets.collectors.items():
            collector = use.cls(use.config, self.context, instance)
            try:
                collector.start()
            except Exception as exc:
                self.error(instance, "collector", "start", exc)
                continue
            self.collectors.append(collector)
        for name, use in self.targets.scenarios.items():
            if self.options.only and name not in self.options.only:
                self.result.scenarios.append(self._scenario_doc(name, use.config.driver,
                                                                None, None, "skipped"))
                continue
            if self.stopped_because is not None:
                self.result.scenarios.append(self._scenario_doc(
                    name, use.config.driver, None, None, "failed",
                    f"not run: {self.stopped_because}"))
                continue
            if self.context.stopping.is_set():
                self.result.scenarios.append(self._scenario_doc(
                    name, use.config.driver, None, None, "interrupted", "not started"))
                continue
            self._run_scenario(name, use)

    def _late_signal(self) -> None:
        """A signal after the load was over still makes an interrupted run (exit 128 + N).

        What was measured is complete, so the checks stand; reporters that run after the
        signal show the run as interrupted, with a note saying when it came.
        """
        signum, phase = self.signal_received, self.signal_phase
        result = self.result
        if signum is None or phase in (None, "measure", "noted"):
            return
        self.signal_phase = "noted"
        result.run["status"] = "interrupted"
        result.exit_code = EXIT_SIGNAL.get(signum, EXIT_BROKEN)
        result.notes.append(f"{signal.Signals(signum).name} came while {phase}, after the "
                            "load was over: every measurement is complete")

    def _skip_scenarios(self, why: str) -> None:
        for name, use in self.targets.scenarios.items():
            self.result.scenarios.append(self._scenario_doc(name, use.config.driver, None, None,
                                                            "failed", why))

    def _run_scenario(self, name: str, use: ScenarioUse) -> None:
        driver = use.driver(use.config, self.context, name)
        self.driver = driver
        self.progress.start_scenario(name)
        start = time.time()
        measured: MetricSet | None = None
        error: str | None = None
        try:
            measured = driver.run()
        except Exception as exc:
            error = self.context.redact(describe(exc))
            self.error(name, "load_driver", "run", error)
            # A driver may hand over what it measured before it broke.
            partial = getattr(exc, "metrics", None)
            if isinstance(partial, MetricSet):
                measured = partial
        finally:
            end = time.time()
            self.driver = None
            self.progress.finish_scenario()
        if measured is not None:
            measured = measured.tag_all(scenario=name)
            measured.set_window(start, end)
            self.metrics.merge(measured)
        self._component_errors(driver, name)
        try:
            details = driver.details()
        except Exception as exc:
            details = {}
            self.error(name, "load_driver", "details", exc)
        if details:
            self.result.details[name] = details
        if error is None and self.stopped_because is not None:
            error = f"stopped: {self.stopped_because}"
        if error:
            status = "failed"
        elif self.context.stopping.is_set():
            status = "interrupted"
        else:
            status = "completed"
        self.result.scenarios.append(self._scenario_doc(name, use.config.driver, start, end,
                                                        status, error))
        self._hook_errors("scenario", self.host.scenario_finished(
            self.context, name, measured or MetricSet(), error))

    @staticmethod
    def _scenario_doc(name: str, driver: str, start: float | None, end: float | None,
                      status: str, error: str | None = None) -> dict[str, Any]:
        return {"name": name, "driver": driver, "started": start, "finished": end,
                "status": status, "error": error}

    def _stop_collectors(self) -> None:
        for collector in self.collectors:
            try:
                measured = collector.stop()
                # A type used under a key of its own or twice (two postgres servers) tags
                # what it measured, so `postgres.tps{instance:replica}` picks one of them.
                tags = self.targets.collectors[collector.instance].tags
                if tags:
                    measured = measured.tag_all(**tags)
                self.metrics.merge(measured)
            except Exception as exc:
                self.error(collector.instance, "collector", "stop", exc)
            self._component_errors(collector, collector.instance)
            try:
                details = collector.details()
            except Exception as exc:
                details = {}
                self.error(collector.instance, "collector", "details", exc)
            if details:
                self.result.details[collector.instance] = details
        self.collectors.clear()

    def _judge(self, started: float, finished: float) -> None:
        result = self.result
        result.run = {
            "id": uuid.uuid4().hex[:12],
            "started": started,
            "finished": finished,
            "duration": finished - started,
            "targets_file": str(self.targets.path),
            "targets_sha256": self.targets.sha256,
            "time_scale": self.options.time_scale,
            "fail_on": self.options.fail_on,
            "only": list(self.options.only),
            "status": "completed",
        }
        result.metrics = self.metrics.to_list()
        result.notes = [*self.context.notes(), *result.notes]
        result.environment = environment(self.host)
        for instance, use in self.targets.validators.items():
            validator = use.cls(use.config, self.context, instance)
            try:
                result.checks.extend(validator.validate(self.targets, self.metrics, result))
            except Exception as exc:
                self.error(instance, "validator", "validate", exc)
                result.checks.append(Check(name=instance, metric="*", verdict=Verdict.ERROR,
                                           group="validators", source=instance,
                                           message=f"validator crashed: {describe(exc)}"))
        result.summarise()
        if not result.checks:
            result.notes.append("the targets file defines no checks: this gate cannot fail on "
                                "performance (add targets:)")
        if self.signal_received is not None:
            result.run["status"] = "interrupted"
            code = EXIT_SIGNAL.get(self.signal_received, EXIT_BROKEN)
        elif (self.broken or result.summary.get("error")
              or any(s["status"] == "failed" for s in result.scenarios)):
            result.run["status"] = "broken"
            code = EXIT_BROKEN
        elif result.summary.get("fail") or (self.options.fail_on == "warn"
                                            and result.summary.get("warn")):
            code = EXIT_FAILED
        else:
            code = EXIT_PASSED
        result.exit_code = code
        if self._hook_errors("report", self.host.result_ready(self.context, result)):
            result.exit_code = EXIT_BROKEN
        self.result = ResultDocument.from_dict(self.context.redactor.document(result.to_dict()))

    def _report(self) -> None:
        redactor = self.context.redactor
        for instance, use in self.targets.reporters.items():
            self._late_signal()  # the reporters still to come show it
            reporter = use.cls(use.config, self.context, instance)
            try:
                reporter.report(self.result)
            except Exception as exc:
                message = redactor.text(describe(exc))
                print(f"perfgate: reporter {instance!r} failed: {message}", file=sys.stderr)
                self.result.errors.append({"component": instance, "role": "reporter",
                                           "phase": "report", "message": message})
                if self.result.exit_code in (EXIT_PASSED, EXIT_FAILED):
                    self.result.exit_code = EXIT_BROKEN
                    self.result.run["status"] = "broken"  # reporters after this one say so
            for problem in reporter.errors:  # not fatal: the report was written
                print(f"perfgate: reporter {instance!r}: {redactor.text(problem)}",
                      file=sys.stderr)
        self._late_signal()


def environment(host: PluginHost) -> dict[str, Any]:
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "perfgate": __version__,
        "cpu_count": os.cpu_count(),
        "plugins": [{"name": p.name, "distribution": p.distribution, "version": p.version,
                     "error": p.error} for p in host.plugins],
    }


def execute(targets: TargetsFile, host: PluginHost, options: RunOptions) -> RunOutcome:
    """Run a checked targets file; always stops services and writes reports."""
    host.activate(used_components(targets))
    return Run(targets, host, options).execute()


def used_components(targets: TargetsFile) -> set[tuple[str, str]]:
    """The (role, name) pairs the targets file uses."""
    used = {("load_driver", use.driver.name) for use in targets.scenarios.values()}
    for section in (targets.collectors, targets.validators, targets.reporters):
        used.update((use.cls.role, use.cls.name) for use in section.values())
    return used
