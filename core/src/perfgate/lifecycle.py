"""The run lifecycle: services, collectors, scenarios, validation, reports, exit code.

Scenarios run together (:mod:`perfgate.scheduler`), each driver in a thread of its own;
drivers and collectors publish live deltas (:mod:`perfgate.live`), from which collector
series are cut to scenario windows. Whatever happens (a plugin raises, a service never gets
healthy, Ctrl-C or SIGTERM), the services perfgate started are stopped and the reports are
written with what was measured.

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

from perfgate.abort import Abort, AbortWatch
from perfgate.components import Collector, Component, Reporter
from perfgate.context import RunContext, RunOptions
from perfgate.errors import ExitCode, PerfgateError, ServiceError
from perfgate.live import LiveRun, LiveUpdate
from perfgate.metrics import MetricSet, tag_key
from perfgate.outcomes import check_results, request_failures
from perfgate.plugins import PluginHost
from perfgate.preflight import check_baselines, prepare_output
from perfgate.progress import Progress
from perfgate.redact import Redactor
from perfgate.result import Check, ResultDocument, ScenarioRecord, Verdict
from perfgate.scheduler import ScenarioRun, Scheduler
from perfgate.services import ServiceManager
from perfgate.targets import ComponentUse, TargetsFile
from perfgate.version import __version__

#: Signals that stop a run (exit 128 + the signal's number, :meth:`ExitCode.after`).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds between live updates (subscribers, abort_on_fail).
LIVE_INTERVAL = 1.0


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


class DuringCollector(threading.Thread):
    """A collector with ``during: <scenario>``: started when the scenario starts, stopped
    when it ends, on a thread of its own so that neither holds up other scenarios."""

    def __init__(self, collector: Collector[Any]) -> None:
        super().__init__(name=f"perfgate-during-{collector.instance}", daemon=True)
        self.collector = collector
        self.ended = threading.Event()
        self.started_ok = False
        self.start_error: BaseException | None = None
        self.measured: MetricSet | None = None
        self.stop_error: BaseException | None = None

    def run(self) -> None:
        try:
            self.collector.start()
        except Exception as exc:
            self.start_error = exc
            return
        self.started_ok = True
        self.ended.wait()
        try:
            self.measured = self.collector.stop()
        except Exception as exc:
            self.stop_error = exc


class Run:
    """One execution of a targets file. Use :func:`execute`."""

    def __init__(self, targets: TargetsFile, host: PluginHost, options: RunOptions) -> None:
        self.targets = targets
        self.host = host
        self.options = options
        enabled = True if options.progress is None else options.progress
        self.live = LiveRun(targets.window_cuts())
        self.progress = Progress(enabled=enabled, live=self.live)
        self.context = RunContext(targets, options, self.progress, self.live, host)
        self.result = ResultDocument()
        self.metrics = MetricSet()
        self.services = ServiceManager(targets.services, targets.folder, options.output_dir,
                                       Redactor(targets.secrets), targets.model.allow_hosts)
        self.collectors: list[Collector[Any]] = []
        #: ``during:`` collectors, in the order of the file, once their scenario started.
        self.during: list[DuringCollector] = []
        self.scheduler: Scheduler | None = None
        self.signal_received: int | None = None
        self.broken = False
        #: Why the run stopped early without a signal (a started service died).
        self.stopped_because: str | None = None
        #: ``abort_on_fail`` targets, judged on the live metrics; the one that stopped the load.
        self.abort_watch = AbortWatch(targets.targets, self.live)
        self.aborted: Abort | None = None
        #: What the run is doing, for the message a signal prints.
        self.phase = "measure"
        self.signal_phase: str | None = None
        self._live_stop = threading.Event()
        #: Reporter instances, made when the load starts (so they can follow it live).
        self.reporters: dict[str, Reporter[Any]] = {}

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
                      f"finishing the reports, then exiting {ExitCode.after(signum)}",
                      file=sys.stderr)
        self.stop_load("interrupted", "not started")

    def stop_load(self, status: str, why: str) -> None:
        """Stop every running driver and start no other scenario (signals, a service that
        died, abort_on_fail).

        Running scenarios end as ``status``; those that never started say ``why``.
        """
        if self.scheduler is not None:
            self.scheduler.stop(status, why)
        else:
            self.context.stopping.set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
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
        self.stop_load("failed", f"not run: {self.stopped_because}")

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
                self._stop_live()
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
            self.context.service_groups = self.services.groups()
        self.services.watch(self._on_service_exit)
        for instance, use in self.targets.collectors.items():
            self.live.attach("collector", instance, use.tags)
            if use.during is not None:
                continue  # started with its scenario
            collector = use.cls(use.config, self.context, instance)
            try:
                collector.start()
            except Exception as exc:
                self.error(instance, "collector", "start", exc)
                continue
            self.collectors.append(collector)
        for name in self.targets.scenarios:
            self.live.attach("load_driver", name, {"scenario": name})
        self.scheduler = Scheduler(self.targets.scenarios, self.context, self.options.only,
                                   self._scenario_started, self._scenario_ended,
                                   self._scenario_error)
        if self.stopped_because is not None:  # a service died before the load began
            self.scheduler.stop("failed", f"not run: {self.stopped_because}")
        self._start_live()
        self.scheduler.run()

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
        result.exit_code = ExitCode.after(signum)
        result.notes.append(f"{signal.Signals(signum).name} came while {phase}, after the "
                            "load was over: every measurement is complete")

    def _skip_scenarios(self, why: str) -> None:
        for name, use in self.targets.scenarios.items():
            self.result.scenarios.append(self._scenario_doc(name, use.config.driver, None, None,
                                                            "failed", why))

    # -- scenarios (called by the scheduler, in the run's thread) ----------------------------
    def _scenario_started(self, run: ScenarioRun) -> None:
        self.progress.start_scenario(run.name)
        for instance, use in self.targets.collectors.items():
            if use.during == run.name:
                during = DuringCollector(use.cls(use.config, self.context, instance))
                self.during.append(during)
                during.start()

    def _scenario_error(self, name: str, phase: str, exc: BaseException) -> None:
        self.error(name, "load_driver", phase, exc)

    def _scenario_ended(self, run: ScenarioRun) -> None:
        name, state = run.name, run.state
        for during in self.during:
            if self.targets.collectors[during.collector.instance].during == name:
                during.ended.set()
        self.progress.finish_scenario(name)
        if run.driver is None and run.exception is None:  # skipped, or never started
            self.result.scenarios.append(self._scenario_doc(
                name, state.driver, None, None, state.status, run.not_started,
                run.use.config))
            return
        error: str | None = None
        if run.exception is not None:
            error = self.context.redact(describe(run.exception))
            self.error(name, "load_driver", "run", error)
        measured = run.measured
        if measured is not None:
            measured = measured.tag_all(scenario=name)
            measured.set_window(state.started, state.finished)
            self.metrics.merge(measured)
            if not self.live.published("load_driver", name):
                self.live.publish("load_driver", name, measured, state.finished)
        driver = run.driver
        if driver is not None:
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
        if error is None and state.status == "aborted" and self.aborted is not None:
            error = f"stopped by check {self.aborted.check!r}: {self.aborted.message}"
        self.result.scenarios.append(self._scenario_doc(
            name, state.driver, state.started, state.finished, state.status, error,
            run.use.config))
        self._hook_errors("scenario", self.host.scenario_finished(
            self.context, name, measured or MetricSet(), error))

    def _scenario_doc(self, name: str, driver: str, start: float | None, end: float | None,
                      status: str, error: str | None = None,
                      config: Any = None) -> ScenarioRecord:
        return {"name": name, "driver": driver, "started": start, "finished": end,
                "status": status, "error": error,
                "start_time": self.context.scale(getattr(config, "start_time", 0.0)),
                "after": getattr(config, "after", None)}

    # -- live updates ------------------------------------------------------------------------
    def _reporter(self, instance: str) -> Reporter[Any]:
        reporter = self.reporters.get(instance)
        if reporter is None:
            use = self.targets.reporters[instance]
            reporter = self.reporters[instance] = use.cls(use.config, self.context, instance)
        return reporter

    def _start_live(self) -> None:
        for instance in self.targets.reporters:
            reporter = self._reporter(instance)
            if type(reporter).live is not Reporter.live:
                self.live.subscribe(_ReporterSubscriber(reporter))
        threading.Thread(target=self._live_loop, name="perfgate-live", daemon=True).start()

    def _live_loop(self) -> None:
        while not self._live_stop.wait(LIVE_INTERVAL):
            self._live_tick(final=False)

    def _live_tick(self, final: bool) -> None:
        if not final:
            self._look_for_abort()
        for subscriber, exc in self.live.tick(final):
            if isinstance(subscriber, _ReporterSubscriber):
                self.error(subscriber.name, "reporter", "live", exc)
            else:
                name = getattr(subscriber, "__qualname__", None) or repr(subscriber)
                self.error(name, "plugin", "live", exc)

    def _look_for_abort(self) -> None:
        """Stop the load when an ``abort_on_fail`` target's critical threshold is crossed."""
        scheduler = self.scheduler
        if (not self.abort_watch or self.aborted is not None or scheduler is None
                or scheduler.t0 is None or scheduler.stopped is not None):
            return
        try:
            aborted = self.abort_watch.look(scheduler.t0, self.options.time_scale)
        except Exception as exc:  # a bug here must not take the live thread down
            self.error("abort_on_fail", "plugin", "live", exc)
            self.abort_watch.targets.clear()
            return
        if aborted is None:
            return
        self.aborted = aborted
        print(f"\nperfgate: check {aborted.check!r}: {aborted.message} (abort_on_fail): "
              "stopping load, writing reports...", file=sys.stderr)
        self.stop_load("aborted", f"not started: check {aborted.check!r} stopped the load "
                                  "(abort_on_fail)")

    def _stop_live(self) -> None:
        self._live_stop.set()
        self._live_tick(final=True)

    def _stop_collectors(self) -> None:
        for collector in self.collectors:
            try:
                measured: MetricSet | None = collector.stop()
            except Exception as exc:
                measured = None
                self.error(collector.instance, "collector", "stop", exc)
            self._collected(collector, measured)
        for during in self.during:
            during.ended.set()
            during.join(timeout=max(30.0, getattr(during.collector, "interval", 0.0) * 2))
            instance = during.collector.instance
            if during.start_error is not None:
                self.error(instance, "collector", "start", during.start_error)
                continue
            if during.is_alive():
                self.error(instance, "collector", "stop", RuntimeError(
                    "the collector did not stop within 30s of its scenario's end"))
            elif during.stop_error is not None:
                self.error(instance, "collector", "stop", during.stop_error)
            self._collected(during.collector, during.measured)
        self.collectors.clear()
        self.during.clear()

    def _collected(self, collector: Collector[Any], measured: MetricSet | None) -> None:
        """Merge what a stopped collector measured, its window cuts, problems and details."""
        use = self.targets.collectors[collector.instance]
        if measured is not None:
            # A type used under a key of its own or twice (two postgres servers) tags
            # what it measured, so `postgres.tps{instance:replica}` picks one of them.
            if use.tags:
                measured = measured.tag_all(**use.tags)
            self.metrics.merge(measured)
            if not self.live.published("collector", collector.instance):
                self.live.publish("collector", collector.instance, measured)
            self.metrics.merge(self._cuts(use, measured))
        self._component_errors(collector, collector.instance)
        try:
            details = collector.details()
        except Exception as exc:
            details = {}
            self.error(collector.instance, "collector", "details", exc)
        if details:
            self.result.details[collector.instance] = details

    def _cuts(self, use: ComponentUse[Collector[Any]], measured: MetricSet) -> MetricSet:
        """The collector's series cut to the scenario windows targets judge them over.

        A ``during:`` collector measured only in its scenario's window: all of it is cut. A
        series the collector left out of its final metrics (a server lost at the end) is
        left out of its cuts too.
        """
        out = MetricSet()
        if use.during is not None:
            names = self.live.cut_names(use.during)
            for metric in measured:
                if metric.name in names:
                    cut = metric.copy({**metric.tags, "scenario": use.during})
                    cut.window_scenario = use.during
                    out.add(cut)
        else:
            kept = {metric.key for metric in measured}
            for cut in self.live.cut(use.instance):
                tags = {k: v for k, v in cut.tags.items() if k != "scenario"}
                if (cut.name, tag_key(tags)) in kept:
                    out.add(cut)
        for cut in out:
            window = self.live.window(cut.window_scenario or "")
            if window is not None:
                cut.start, cut.end = window
        return out

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
        order = list(self.targets.scenarios)
        result.scenarios.sort(key=lambda doc: order.index(doc["name"]) if doc["name"] in order
                              else len(order))
        result.metrics = self.metrics.to_list()
        for doc in result.scenarios:  # why requests failed, how checks went: for any reader
            doc["failures"] = [f.to_dict() for f in request_failures(self.metrics, doc["name"])]
            doc["response_checks"] = [c.to_dict()
                                      for c in check_results(self.metrics, doc["name"])]
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
        aborted = self._aborted_check()
        result.summarise()
        if not result.checks:
            result.notes.append("the targets file defines no checks: this gate cannot fail on "
                                "performance (add targets:)")
        if self.signal_received is not None:
            result.run["status"] = "interrupted"
            code = ExitCode.after(self.signal_received)
        elif (self.broken or result.summary.get("error")
              or any(s["status"] == "failed" for s in result.scenarios)):
            result.run["status"] = "broken"
            code = ExitCode.BROKEN
        elif aborted:
            result.run["status"] = "aborted"
            code = ExitCode.FAILED
        elif result.summary.get("fail") or (self.options.fail_on == "warn"
                                            and result.summary.get("warn")):
            code = ExitCode.FAILED
        else:
            code = ExitCode.PASSED
        result.exit_code = code
        if self._hook_errors("report", self.host.result_ready(self.context, result)):
            result.exit_code = ExitCode.BROKEN
        self.result = redacted(result, self.context.redactor)

    def _aborted_check(self) -> bool:
        """Record the ``abort_on_fail`` stop in the document: ``run.aborted``, a note, and
        the check that stopped the load, which fails whatever the numbers at the end say (the
        load was cut short). True when the load was stopped that way."""
        scheduler, aborted = self.scheduler, self.aborted
        result = self.result
        result.run["aborted"] = None
        if aborted is None or scheduler is None or scheduler.stopped is None \
                or scheduler.stopped[0] != "aborted":
            return False
        result.run["aborted"] = aborted.to_dict()
        result.notes.append(f"the load was stopped by check {aborted.check!r} "
                            f"({aborted.metric}): {aborted.message} (abort_on_fail)")
        for check in result.checks:
            if (check.name, check.group) != (aborted.check, aborted.group):
                continue
            stop = f"stopped the load: {aborted.message}"
            if check.verdict in (Verdict.PASS, Verdict.WARN):
                check.verdict = Verdict.FAIL
                stop = f"met at the end, but {stop} → fail"
            check.message = f"{check.message}; {stop}" if check.message else stop
        return True

    def _report(self) -> None:
        redactor = self.context.redactor
        for instance in self.targets.reporters:
            self._late_signal()  # the reporters still to come show it
            reporter: Reporter[Any] | None = None
            try:
                reporter = self._reporter(instance)
                reporter.report(self.result)
            except Exception as exc:
                message = redactor.text(describe(exc))
                print(f"perfgate: reporter {instance!r} failed: {message}", file=sys.stderr)
                self.result.errors.append({"component": instance, "role": "reporter",
                                           "phase": "report", "message": message})
                if self.result.exit_code in (ExitCode.PASSED, ExitCode.FAILED):
                    self.result.exit_code = ExitCode.BROKEN
                    self.result.run["status"] = "broken"  # reporters after this one say so
            for problem in reporter.errors if reporter else ():  # not fatal: it was written
                print(f"perfgate: reporter {instance!r}: {redactor.text(problem)}",
                      file=sys.stderr)
        self._late_signal()


class _ReporterSubscriber:
    """A reporter's :meth:`~perfgate.Reporter.live`, subscribed to the run's live updates."""

    def __init__(self, reporter: Reporter[Any]) -> None:
        self.reporter = reporter
        self.name = reporter.instance

    def __call__(self, update: LiveUpdate) -> None:
        self.reporter.live(update)


def redacted(result: ResultDocument, redactor: Redactor) -> ResultDocument:
    """The result with its secrets masked: every value, and the keys inside each
    component's ``details`` (its own data, keyed by endpoints, pages and the like). The
    document's other keys are the schema's names, tag names and the scenario and component
    names of the targets file, and stay whole."""
    doc = redactor.document(result.to_dict())
    doc["details"] = {name: redactor.document(value, keys=True)
                      for name, value in result.details.items()}
    return ResultDocument.from_dict(doc)


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
    """Run a checked targets file; always stops services and writes reports.

    :raises ConfigError: before anything starts: the output folder or a path the run would
        write cannot be written, another run holds the folder, or a baseline is unusable.
    """
    lock = prepare_output(targets, options)
    try:
        notes = check_baselines(targets, options)
        host.activate(used_components(targets))
        run = Run(targets, host, options)
        run.result.notes.extend(notes)
        return run.execute()
    finally:
        lock.release()


def used_components(targets: TargetsFile) -> set[tuple[str, str]]:
    """The (role, name) pairs the targets file uses."""
    used = {("load_driver", use.driver.name) for use in targets.scenarios.values()}
    for section in (targets.collectors, targets.validators, targets.reporters):
        used.update((use.cls.role, use.cls.name) for use in section.values())
    return used
