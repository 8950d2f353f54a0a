"""The ``locust`` load driver: a Locust master with local or remote workers, read into perfgate.

One scenario is one headless Locust master (``--master``) plus ``workers`` local worker
processes (``--worker``), and ``expect_workers`` more from other machines. perfgate's agent
(:mod:`perfgate_locust.agent`) is loaded before the locustfile on every one of them; the
master writes what it learns to an events file that the driver reads while the test runs
(:mod:`perfgate_locust.results`).

The run, in order:

1. the master starts, announces the hosts its users would load (``--host`` or each user
   class's ``host``) and waits; the driver refuses any host that is neither loopback nor
   under ``allow_hosts:`` (stopping everything, a :class:`perfgate.ConfigError`), else says go;
2. the master waits up to ``join_timeout`` for every worker (fewer: the run fails, naming
   how many joined), then spawns ``users`` at ``spawn_rate``;
3. after ``duration`` (or Ctrl-C) it stops the graceful way: each worker's users finish the
   task they are in (``graceful_stop``) and each worker sends its last report, then the
   master quits;
4. a worker that stops answering (Locust marks it missing after 3 s without a heartbeat) or
   whose process ends early is *lost*: its last report is missing. The run goes on with the
   others, and the ``locust`` validator reports the loss as an ``error`` check.

Meanwhile the workers' reports are folded into the scenario's metrics as they come, and the
driver hands the run what arrived about once a second (:meth:`perfgate.Component.publish`):
live progress, ``abort_on_fail`` and subscribers see the Locust run as it goes, and the
deltas add up to the final metrics.

Whatever happens, every process is stopped: SIGTERM to the group after the grace period,
SIGKILL after that; and :func:`perfgate.watchdog` stops the group and removes the working
folder if perfgate itself is killed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from perfgate import (
    ConfigError,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    RunContext,
    RunError,
    TargetSpec,
    all_requests,
    driver_health_target,
    watchdog,
)
from perfgate_locust.config import LocustScenario, locustfile_path
from perfgate_locust.generate import locustfile as generated_locustfile
from perfgate_locust.process import LocustProcess, locust_command, reap, signal_group
from perfgate_locust.results import EventTail, Results

AGENT = Path(__file__).with_name("agent.py")
AGENT_NAME = "perfgate_locust_agent.py"
_POLL = 0.2
#: Seconds between live deltas handed to the run (the master's reports come every second).
PUBLISH_EVERY = 1.0
#: After the graceful stop was asked for: seconds on top of ``graceful_stop`` before SIGTERM,
#: and after SIGTERM before SIGKILL.
STOP_MARGIN = 15.0
KILL_AFTER = 5.0
#: Seconds local workers get to quit after the master did, before SIGKILL.
WORKER_QUIT = 10.0
#: Locust's processes take a few seconds to import; the master's own wait for workers starts
#: after that.
STARTUP = 30.0

_METRICS = [
    MetricInfo("http.req_duration", Kind.TREND, "ms",
               "request time, from Locust's response-time buckets"),
    MetricInfo("http.reqs", Kind.COUNTER, "", "requests completed"),
    MetricInfo("http.req_failed", Kind.RATE, "ratio", "share of requests Locust counted failed"),
    MetricInfo("data_received", Kind.COUNTER, "B", "response bytes"),
    MetricInfo("checks", Kind.RATE, "ratio", "share of response checks that passed "
               "(requests:/flows:)"),
    MetricInfo("iterations", Kind.COUNTER, "", "iterations completed (requests:/flows:)"),
    MetricInfo("vus", Kind.GAUGE, "", "Locust users running"),
    MetricInfo("locust.exceptions", Kind.COUNTER, "", "exceptions raised in tasks"),
    MetricInfo("locust.workers_lost", Kind.COUNTER, "", "workers lost during the run"),
    MetricInfo("perfgate.driver.cpu", Kind.GAUGE, "%", "CPU of a Locust worker, % of one core"),
    MetricInfo("perfgate.driver.behind_schedule", Kind.RATE, "ratio",
               "share of 100 ms ticks a worker's event loop ran 10 ms late, or at 95% CPU"),
    MetricInfo("perfgate.driver.schedule_lag", Kind.TREND, "ms",
               "each second's worst lateness of a worker's event loop"),
]


class LocustRunError(RunError):
    """Locust ended badly; ``metrics`` holds what it measured before that."""

    def __init__(self, message: str, metrics: MetricSet) -> None:
        super().__init__(message)
        self.metrics = metrics


class LocustDriver(LoadDriver[LocustScenario]):
    """Runs a scenario on Locust's master and workers."""

    name = "locust"
    summary = "Locust master/workers (local or remote), a locustfile or requests:/flows:"
    #: The ``locust`` validator judges worker loss and exceptions in tasks.
    validators: ClassVar[tuple[str, ...]] = ("locust",)

    def __init__(self, config: LocustScenario, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self._stop = threading.Event()
        self._details: dict[str, Any] = {}
        self.master: LocustProcess | None = None
        self.local_workers: list[LocustProcess] = []

    @classmethod
    def produces(cls, config: LocustScenario) -> list[MetricInfo]:
        return list(_METRICS)

    @classmethod
    def builtin_targets(cls, config: LocustScenario) -> dict[str, TargetSpec]:
        return {"driver-health": driver_health_target(
            "a Locust worker was saturated (CPU, or its event loop ran late)")}

    def interrupt(self) -> None:
        self._stop.set()

    def details(self) -> dict[str, Any]:
        return {"locust": self._details} if self._details else {}

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> MetricSet:
        scenario = self.config
        base_url = (self.context.service_url(scenario.service) if scenario.service
                    else scenario.url)
        if base_url:
            self.context.check_load_allowed(base_url)
        for spec in all_requests(scenario.requests, scenario.flows):
            if spec.url and "${" not in spec.url:
                self.context.check_load_allowed(spec.url)
        workdir = Path(tempfile.mkdtemp(prefix="perfgate-locust-"))
        watchdog().add_path(workdir)  # removed even if perfgate is killed
        results = Results(self.instance)
        try:
            return self._run(workdir, base_url, results)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            watchdog().remove_path(workdir)

    def _run(self, workdir: Path, base_url: str | None, results: Results) -> MetricSet:
        scenario = self.config
        files, cwd = self._locustfiles(workdir, base_url)
        events, control = workdir / "events.jsonl", workdir / "control"
        port = scenario.master_bind_port or (5557 if scenario.expect_workers else
                                             _free_port(scenario.master_bind_host))
        logs = self.context.report_path(Path("locust") / self.instance)
        env = {**os.environ, **scenario.env, "PYTHONUNBUFFERED": "1"}
        command = locust_command(scenario.locust_path)
        run_time = self.context.scale(scenario.run_duration)
        self._details = {"master": f"{scenario.master_bind_host}:{port}",
                         "workers_expected": scenario.total_workers, "run_time": run_time,
                         "logs": str(logs)}
        if self._should_stop():
            return results.finish(time.time())
        self.master = LocustProcess(
            [*command, *self._master_args(files, port, base_url, events, control, run_time)],
            env, cwd, logs / "master.log")
        # the master's group holds the local workers too: it dies with perfgate, SIGKILL included
        watchdog().add_group(self.master.pid, grace=KILL_AFTER)
        connect_host = ("127.0.0.1" if scenario.master_bind_host in ("*", "0.0.0.0", "")
                        else scenario.master_bind_host)
        for index in range(scenario.local_workers):
            self.local_workers.append(LocustProcess(
                [*command, "-f", ",".join(files), "--worker", "--master-host", connect_host,
                 "--master-port", str(port), "--loglevel", "INFO"],
                env, cwd, logs / f"worker-{index}.log", group=self.master.pid))
        try:
            self._watch(EventTail(events), control, results)
            # the master told its workers to quit: let them finish their own teardown
            _wait_exit(self.local_workers, WORKER_QUIT)
        finally:
            signal_group(self.master.pid, signal.SIGKILL)
            reap([self.master, *self.local_workers])
            watchdog().remove_group(self.master.pid)
        return self._outcome(results)

    def _watch(self, tail: EventTail, control: Path, results: Results) -> None:
        """Follow the master until it exits; answer its hosts; stop it when asked."""
        assert self.master is not None
        scenario = self.config
        progress = self.context.progress
        began = time.monotonic()
        published = began
        stop_asked: float | None = None
        terminated: float | None = None
        answered = False
        while True:
            for record in tail.read(results):
                if record.get("event") == "init" and not answered:
                    answered = True
                    self._answer_hosts(record, control)
            self._check_local_workers(results)
            if progress is not None:
                progress.update(requests=results.requests, errors=results.failures,
                                vus=results.users)
            if self.master.poll() is not None:
                tail.read(results)
                return
            now = time.monotonic()
            if now - published >= PUBLISH_EVERY:
                published = now
                self.publish(results.metrics.take_delta())
            if stop_asked is None and self._should_stop():
                stop_asked = now
                control.write_text("stop", encoding="utf-8")
            if results.started is None and now - began > STARTUP + scenario.join_timeout:
                self.fail("the Locust master did not start the test in time; stopped it")
                stop_asked = stop_asked or now - scenario.graceful_stop - STOP_MARGIN
            if stop_asked is not None and terminated is None and \
                    now - stop_asked > scenario.graceful_stop + STOP_MARGIN:
                terminated = now
                signal_group(self.master.pid, signal.SIGTERM)
            if terminated is not None and now - terminated > KILL_AFTER:
                signal_group(self.master.pid, signal.SIGKILL)
            time.sleep(_POLL)

    def _should_stop(self) -> bool:
        return self._stop.is_set() or self.context.stopping.is_set()

    def _answer_hosts(self, record: dict[str, Any], control: Path) -> None:
        """Let the master go on only if every host its users would load is allowed."""
        assert self.master is not None
        hosts = [record["host"]] if record.get("host") else \
            sorted({h for h in (record.get("user_hosts") or {}).values() if h})
        self._details["locust_version"] = record.get("version")
        self._details["hosts"] = hosts
        problem: ConfigError | None = None
        if not hosts:
            problem = ConfigError(
                f"scenario {self.instance}: the locustfile's user classes set no host and the "
                "scenario has neither service nor url: give one of them")
        for host in hosts:
            try:
                self.context.check_load_allowed(host)
            except ConfigError as exc:
                problem = exc
                break
        if problem is not None:
            signal_group(self.master.pid, signal.SIGKILL)
            raise problem
        control.write_text("go", encoding="utf-8")

    def _check_local_workers(self, results: Results) -> None:
        """A local worker process that ended before the test did is lost."""
        for index, process in enumerate(self.local_workers):
            code = process.poll()
            if code is None or results.stopped is not None:
                continue
            worker = next((w for w in results.workers.values() if w.pid == process.pid), None)
            if worker is not None and worker.exited is None:
                worker.exited = (f"killed by signal {-code}" if code < 0
                                 else f"exited with code {code}")
                worker.missing_at = worker.missing_at or time.time()
            elif worker is None and results.started is None:
                self.fail(f"local Locust worker {index} exited with code {code} before "
                          f"joining: {process.tail()}")

    # -- what Locust is told -------------------------------------------------------------------
    def _locustfiles(self, workdir: Path, base_url: str | None) -> tuple[list[str], Path]:
        """The ``-f`` files (perfgate's agent first) and the folder Locust runs in."""
        scenario = self.config
        agent = workdir / AGENT_NAME
        agent.write_text(AGENT.read_text(encoding="utf-8"), encoding="utf-8")
        folder = self._targets_folder()
        if scenario.locustfile is not None:
            user_file = locustfile_path(scenario.locustfile, folder)
            if not user_file.is_file():
                raise RunError(f"locustfile {user_file} not found (a relative path starts at "
                               f"the targets file's folder, {folder})")
            return [str(agent), str(user_file)], user_file.parent
        name = re.sub(r"[^A-Za-z0-9_]", "_", self.instance)
        generated = workdir / f"perfgate_{name}_locustfile.py"
        generated.write_text(generated_locustfile(scenario, self.instance, base_url),
                             encoding="utf-8")
        return [str(agent), str(generated)], folder

    def _master_args(self, files: list[str], port: int, base_url: str | None, events: Path,
                     control: Path, run_time: float) -> list[str]:
        scenario = self.config
        spawn_rate = scenario.spawn_rate or float(scenario.users)
        args = ["-f", ",".join(files), "--master", "--headless", "--only-summary",
                "--master-bind-host", scenario.master_bind_host,
                "--master-bind-port", str(port),
                "--expect-workers", str(scenario.total_workers),
                "--expect-workers-max-wait", f"{max(scenario.join_timeout, 1):g}"]
        scale = self.context.scale(1.0)
        if scenario.stages is None:
            args += ["--users", str(scenario.users),
                     # --time-scale shortens the run and speeds the ramp up alike
                     "--spawn-rate", f"{spawn_rate / scale:g}"]
        else:  # the agent sets the users every second as the stages say
            stages = [[stage.duration * scale, stage.target] for stage in scenario.stages]
            args += ["--users", str(scenario.start_vus), "--spawn-rate",
                     f"{max([scenario.start_vus, *(s.target for s in scenario.stages), 1])}",
                     "--perfgate-stages", json.dumps([scenario.start_vus, stages])]
        args += ["--stop-timeout", f"{scenario.graceful_stop:g}",
                 "--loglevel", "INFO",
                 "--perfgate-events", str(events), "--perfgate-control", str(control),
                 "--perfgate-run-time", f"{run_time:g}",
                 "--perfgate-buckets", scenario.buckets]
        if base_url:
            args += ["--host", base_url]
        if scenario.task_tags:
            args += ["--tags", *scenario.task_tags]
        if scenario.exclude_task_tags:
            args += ["--exclude-tags", *scenario.exclude_task_tags]
        return [*args, *scenario.locust_args, *scenario.user_classes]

    def _targets_folder(self) -> Path:
        folder = self.config.targets_folder or getattr(self.context.targets, "folder", None)
        return Path(folder) if folder is not None else Path.cwd()

    # -- what came of it ---------------------------------------------------------------------
    def _outcome(self, results: Results) -> MetricSet:
        assert self.master is not None
        scenario = self.config
        end = time.time()
        metrics = results.finish(end)
        self.publish(metrics.take_delta())  # the rest: the deltas add up to the metrics
        code = self.master.poll()
        workers = sorted(results.workers.values(), key=lambda w: w.index)
        self._details.update({
            "exit_code": code,
            "workers_joined": len(workers),
            "workers": [w.to_dict() for w in workers],
            "requests": results.requests,
            "failures": results.failures,
            "master_requests": (results.ended or {}).get("requests"),
            "errors": results.error_table()[:20],
            "exceptions": [{k: row[k] for k in ("count", "msg", "traceback", "nodes")}
                           for row in results.exceptions()][:20],
            "interrupted": self._should_stop(),
        })
        if results.bad_lines:
            self.fail(f"{results.bad_lines} line(s) of the Locust master's events could not "
                      "be read")
        if results.errors:
            top = results.error_table()[0]
            self.context.note(f"{self.instance}: Locust counted {results.failures} failed "
                              f"request(s); the most frequent: {top['method']} {top['name']}: "
                              f"{top['error']} ({top['occurrences']}x)")
        for worker in workers:
            if worker.lost:
                self.fail(_lost_message(worker))
        if results.started is None:
            joined = len(workers)
            if joined < scenario.total_workers and code not in (None, 0) \
                    and not self._should_stop():
                raise LocustRunError(
                    f"only {joined} of {scenario.total_workers} Locust worker(s) joined the "
                    f"master at {self._details['master']} within {scenario.join_timeout:g}s "
                    f"(join_timeout); nothing was run. Master: {self.master.tail(4)}", metrics)
            if not self._should_stop():
                raise LocustRunError(f"Locust did not start the test (exit code {code}): "
                                     f"{self.master.tail()}", metrics)
            return metrics
        if results.ended is None and not self._should_stop():
            raise LocustRunError(f"the Locust master ended without finishing the test (exit "
                                 f"code {code}): {self.master.tail()}", metrics)
        return metrics


def _lost_message(worker: Any) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(worker.missing_at or time.time()))
    how = worker.exited or "stopped sending heartbeats"
    pid = f", pid {worker.pid}" if worker.pid else ""
    return (f"Locust worker {worker.index} ({worker.id}{pid}) was lost at {when}: {how}; "
            "its requests since its last report (up to about a second) are missing, "
            f"{worker.requests} of its requests were counted")


def _wait_exit(processes: list[LocustProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)


def _free_port(host: str) -> int:
    bind = "127.0.0.1" if host in ("*", "", "0.0.0.0") else host
    with socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET) as s:
        s.bind((bind, 0))
        return int(s.getsockname()[1])
