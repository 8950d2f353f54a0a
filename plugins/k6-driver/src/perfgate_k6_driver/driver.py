"""The ``k6`` load driver: run a k6 script with the real k6, bring its results into perfgate.

One scenario is one ``k6 run``. Every sample k6 emits (``--out json``) becomes a perfgate
metric with the names the ``http`` driver uses; k6's summary (``--summary-export``) gives its
threshold verdicts and its own numbers. k6's exit code decides what the run records:

====================  ===================================================================
0                     fine
99 thresholds         fine for the run; the crossed thresholds are failed ``k6`` checks
105 after Ctrl-C      fine: what was measured until the stop is returned
110 ``test.fail()``   a failed ``k6`` check
anything else         a run error with k6's own message (bad script, exception, abort...);
                      the error (:class:`K6RunError`) carries what k6 measured until then,
                      and the run keeps it
====================  ===================================================================

The driver brings the ``k6`` validator along (:attr:`K6Driver.validators`): k6's verdicts on
the script's thresholds are always checks, whether or not the targets file lists it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from perfgate import Kind, LoadDriver, MetricInfo, MetricSet, RunContext, RunError
from perfgate_k6_driver.binary import K6Binary, find_k6
from perfgate_k6_driver.config import K6Scenario
from perfgate_k6_driver.inflight import entry_script
from perfgate_k6_driver.process import (
    EXIT_CODES,
    EXTERNAL_ABORT,
    MARKED_FAILED,
    THRESHOLDS_CROSSED,
    K6Process,
)
from perfgate_k6_driver.safety import LOOPBACK, blocked_ranges, resolve
from perfgate_k6_driver.script import declared_metrics, locate
from perfgate_k6_driver.stream import FileTail, SampleReader
from perfgate_k6_driver.summary import (
    own_view,
    read_summary,
    summary_duration,
    thresholds,
)
from perfgate_k6_driver.workdir import create_workdir, remove_workdir

#: What every k6 run can produce, in perfgate's names.
BUILTIN_METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("http.req_duration", Kind.TREND, "ms", "request time (sending+waiting+receiving)"),
    MetricInfo("http.req_blocked", Kind.TREND, "ms", "time waiting for a free connection"),
    MetricInfo("http.req_connecting", Kind.TREND, "ms", "TCP connect time"),
    MetricInfo("http.req_tls_handshaking", Kind.TREND, "ms", "TLS handshake time"),
    MetricInfo("http.req_sending", Kind.TREND, "ms", "time sending the request"),
    MetricInfo("http.req_waiting", Kind.TREND, "ms", "time to first byte"),
    MetricInfo("http.req_receiving", Kind.TREND, "ms", "time receiving the response"),
    MetricInfo("http.req_failed", Kind.RATE, "ratio", "share of failed requests"),
    MetricInfo("http.reqs", Kind.COUNTER, "", "requests made"),
    MetricInfo("checks", Kind.RATE, "ratio", "share of passed checks"),
    MetricInfo("iterations", Kind.COUNTER, "", "completed iterations"),
    MetricInfo("iteration_duration", Kind.TREND, "ms", "time of one iteration"),
    MetricInfo("dropped_iterations", Kind.COUNTER, "", "iterations an arrival-rate executor "
               "could not start"),
    MetricInfo("data_received", Kind.COUNTER, "B", "bytes received"),
    MetricInfo("data_sent", Kind.COUNTER, "B", "bytes sent"),
    MetricInfo("vus", Kind.GAUGE, "", "active virtual users"),
    MetricInfo("vus_max", Kind.GAUGE, "", "allocated virtual users"),
    MetricInfo("ws.*", None, "", "WebSocket metrics"),
    MetricInfo("grpc.*", None, "", "gRPC metrics"),
    MetricInfo("browser.*", None, "", "k6 browser metrics"),
)
_POLL = 0.25
_READ_PER_POLL = 16 << 20  # bytes of k6 output read between two progress updates
_PUBLISH = 1.0  # seconds between two live deltas


def _k6_duration(seconds: float) -> str:
    return f"{max(round(seconds * 1000), 1)}ms"


class K6Driver(LoadDriver[K6Scenario]):
    """Runs a k6 script with k6 and reads every sample into perfgate's metrics."""

    name = "k6"
    summary = "run a k6 script with the real k6; its samples, thresholds and errors"
    #: Always run, listed under ``validators:`` or not: a crossed threshold in the script
    #: (or ``test.fail()``) is a failed check and fails the gate.
    validators: ClassVar[tuple[str, ...]] = ("k6",)

    def __init__(self, config: K6Scenario, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self._process: K6Process | None = None
        #: Set from another thread by interrupt() (or by the run's stop): read it, never cache it.
        self._interrupted = threading.Event()
        self._details: dict[str, Any] = {}

    @classmethod
    def produces(cls, config: K6Scenario) -> list[MetricInfo]:
        script = locate(config.script, config.targets_folder)
        if script is None:  # relative to a targets file whose folder is not known here
            return [*BUILTIN_METRICS, MetricInfo("*", None, "", "custom k6 metrics")]
        return [*BUILTIN_METRICS, *declared_metrics(script)]

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> MetricSet:
        scenario = self.config
        binary = find_k6(scenario.k6_path)
        base = self._targets_folder()
        script = locate(scenario.script, base)
        if script is None:
            raise RunError(f"k6 script {scenario.script!r} not found (paths are relative to "
                           f"the targets file's folder, {base})")
        env = self._environment(scenario)
        self._details = {"version": binary.version, "path": binary.path, "script": str(script)}
        workdir = create_workdir()
        reader = SampleReader(self.instance, scenario.drop_tags, scenario.max_series)
        summary_path = workdir / "summary.json"
        entry = entry_script(script, workdir) if scenario.record_unfinished else script
        argv = self._argv(binary, scenario, entry, workdir / "samples.json", summary_path)
        process = K6Process(argv, env, base)
        tail = FileTail(workdir / "samples.json", reader)
        started = time.time()
        try:
            if self._interrupted.is_set() or self.context.stopping.is_set():
                return MetricSet()
            try:
                process.start()
            except OSError as exc:
                raise RunError(f"cannot start k6 ({binary.path}): {exc}") from None
            self._process = process
            if self._interrupted.is_set():  # Ctrl-C came while k6 was starting
                process.interrupt(scenario.stop_timeout)
            code = self._watch(process, tail, reader, scenario)
        finally:
            process.kill()
            tail.poll(final=True)
            tail.close()
            ended = time.time()
            summary = read_summary(summary_path)
            remove_workdir(workdir)
        self._finish(reader, summary, started, ended)
        self.publish(reader.metrics.take_delta())  # the rest, requests never finished too
        return self._outcome(code, process, reader, summary)

    def _watch(self, process: K6Process, tail: FileTail, reader: SampleReader,
               scenario: K6Scenario) -> int:
        progress = self.context.progress
        published = time.monotonic()
        while True:
            code = process.wait(_POLL)
            tail.poll(limit=_READ_PER_POLL)
            if time.monotonic() - published >= _PUBLISH:
                published = time.monotonic()
                self.publish(reader.metrics.take_delta())
            if progress is not None:
                progress.update(requests=reader.requests, errors=reader.failed,
                                vus=process.log.vus)
            if code is not None:
                return code
            if self.context.stopping.is_set() and not process.interrupted:
                self._interrupted.set()
                process.interrupt(scenario.stop_timeout)

    def _finish(self, reader: SampleReader, summary: dict[str, Any] | None, started: float,
                ended: float) -> None:
        """Record what never finished; set the metrics' window to k6's test run (counters'
        rates then match k6's)."""
        end = reader.last if reader.last is not None else ended
        # k6's last samples come when the test ends, after gracefulStop
        unfinished = reader.record_unfinished(end)
        self._details["unfinished_requests"] = unfinished
        if unfinished:
            why = "interrupted" if self._interrupted.is_set() else "gracefulStop over"
            self.context.note(
                f"scenario {self.instance}: {unfinished} request(s) were still in flight when "
                f"k6 ended the test ({why}); k6 drops them, perfgate counts them as failed "
                "(error: interrupted), timed until then")
        duration = summary_duration(summary)
        start = end - duration if duration else (reader.first or started)
        reader.set_window(min(start, end), end)

    def _outcome(self, code: int, process: K6Process, reader: SampleReader,
                 summary: dict[str, Any] | None) -> MetricSet:
        log = process.log
        results = thresholds(summary, reader.thresholds, reader.metrics, reader.kinds,
                             self.instance)
        self._details.update({
            "exit_code": code,
            "exit_meaning": EXIT_CODES.get(code, "ok" if code == 0 else "unknown"),
            "interrupted": self._interrupted.is_set(),
            "samples": reader.samples,
            "duration": summary_duration(summary),
            "thresholds": [r.to_dict() for r in results],
            "summary": own_view(summary),
            "failed_by_script": code == MARKED_FAILED,
            "errors": list(log.errors),
            "warnings": list(log.warnings),
            "script_errors": sum(log.script_errors.values()),
        })
        if reader.merged:
            self.context.note(
                f"{self.instance}: {', '.join(sorted(reader.merged))} had more than "
                f"{reader.max_series} series (requests without a name tag are named by URL); "
                "the rest were merged under name:(other). Name requests in the script "
                "(tags: {name: ...}) or raise max_series.")
        if reader.bad_lines:
            self.fail(f"{reader.bad_lines} line(s) of k6's JSON output could not be read")
        if log.script_errors:
            count = sum(log.script_errors.values())
            first = next(iter(log.script_errors))
            # k6 goes on after an exception in an iteration; what was measured stands, so
            # this is a remark on the measurement, not a broken run.
            self.context.note(f"{self.instance}: the k6 script threw in {count} "
                              f"iteration(s), e.g. {first}")
        ok = {0, THRESHOLDS_CROSSED, MARKED_FAILED}
        if code in ok or (code == EXTERNAL_ABORT and self._interrupted.is_set()):
            return reader.metrics
        if code < 0 and self._interrupted.is_set():
            self.fail("k6 did not stop within stop_timeout after Ctrl-C; it was killed")
            return reader.metrics
        meaning = EXIT_CODES.get(code, "unexpected exit code")
        if code < 0:
            meaning = f"killed by signal {-code}"
        said = "; ".join(m.strip() for m in log.messages()) or "no message"
        raise K6RunError(f"k6 exited with code {code} ({meaning}): {said[:2000]}",
                         reader.metrics, code)

    # -- Ctrl-C ----------------------------------------------------------------------------
    def interrupt(self) -> None:
        """SIGINT to k6's group: k6 ends the test and writes its summary; SIGKILL if it hangs."""
        self._interrupted.set()
        process = self._process
        if process is not None:
            process.interrupt(self.config.stop_timeout)

    def details(self) -> dict[str, Any]:
        return {"k6": dict(self._details)} if self._details else {}

    # -- building the command ----------------------------------------------------------------
    def _targets_folder(self) -> Path:
        folder = getattr(self.context.targets, "folder", None)
        if folder is not None:
            return Path(folder)
        path = getattr(self.context.targets, "path", None)
        return Path(path).resolve().parent if path else Path.cwd()

    def _environment(self, scenario: K6Scenario) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"K6_NO_USAGE_REPORT": "true", "PERFGATE_SCENARIO": self.instance,
                    "PERFGATE_TIME_SCALE": f"{self.context.scale(1.0):g}"})
        if scenario.service is not None:
            env["BASE_URL"] = self.context.service_url(scenario.service)
        env.update(scenario.env)
        if env.get("BASE_URL"):
            self.context.check_load_allowed(env["BASE_URL"])
        return env

    def _argv(self, binary: K6Binary, scenario: K6Scenario, script: Path, samples: Path,
              summary: Path) -> list[str]:
        argv = [binary.path, "run", "--no-usage-report", "--no-color", "--address",
                "127.0.0.1:0", "--log-format", "json", "--out", f"json={samples}",
                "--summary-export", str(summary)]
        if scenario.vus is not None:
            argv += ["--vus", str(scenario.vus)]
        if scenario.duration is not None:
            argv += ["--duration", _k6_duration(self.context.scale(scenario.duration))]
        if scenario.iterations is not None:
            argv += ["--iterations", str(scenario.iterations)]
        for stage in scenario.stages or []:
            argv += ["--stage", f"{_k6_duration(self.context.scale(stage.duration))}:"
                                f"{stage.target}"]
        for key, value in sorted(scenario.tags.items()):
            argv += ["--tag", f"{key}={value}"]
        if scenario.restrict_hosts:
            argv += ["--blacklist-ip", ",".join(self._blocked())]
        return [*argv, *scenario.k6_args, str(script)]

    def _blocked(self) -> list[str]:
        model = getattr(self.context.targets, "model", None)
        allowed_hosts = list(getattr(model, "allow_hosts", None) or [])
        networks, unresolved = resolve(allowed_hosts)
        if unresolved:
            self._details["unresolved_allow_hosts"] = unresolved
        return blocked_ranges([*LOOPBACK, *networks])


class K6RunError(RunError):
    """k6 ended with an error (``k6_exit_code``).

    ``metrics`` holds what k6 measured before that, with the test's window set; perfgate's
    run keeps it (targets on it are judged) and still records the scenario as failed.
    """

    def __init__(self, message: str, metrics: MetricSet, exit_code: int) -> None:
        super().__init__(message)
        self.metrics = metrics
        self.k6_exit_code = exit_code
