"""perfgate's agent inside Locust: loaded with ``-f`` before the locustfile, on master and workers.

This file runs inside Locust's own processes (gevent, monkey-patched), so it imports only
the standard library, gevent, psutil and locust: workers on other machines receive it from
the master (``locust --worker -f -``) and need nothing of perfgate.

On the **master** it writes one JSON object per line to ``--perfgate-events``:

- ``init``: the Locust version, the ``--host`` and each user class's own ``host``; then it
  waits for perfgate's answer in ``--perfgate-control`` (``go``, after perfgate checked
  that every host may be loaded) before any worker gets users;
- ``connect`` when a worker joins; ``report`` for each statistics report a worker sends
  (Locust's own serialised entries: counts, failures and the response-time buckets of every
  request name, plus the agent's CPU samples), as it arrives;
- ``workers`` every second: each worker's state (``missing`` once it stopped sending
  heartbeats), users and CPU; ``missing`` the first time a worker is seen missing;
- ``start``, ``stopping`` and ``stopped`` around the test, and ``end`` (with the
  exceptions raised in tasks) when Locust quits.

The master runs the test for ``--perfgate-run-time`` seconds (or until the control file says
``stop``), then stops it the graceful way: every worker stops its users (``--stop-timeout``)
and sends its last report *before* it confirms, so no request is lost at the end. On a
**worker** the agent reports every second instead of every three, sends a last report as
soon as its users stopped, and samples its own health once a second: CPU and how late its
event loop ran.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import urlsplit

import gevent
import psutil
from locust import events
from locust import runners as locust_runners
from locust import stats as locust_stats
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.runners import MasterRunner, WorkerRunner

REPORT_INTERVAL = 1.0  # seconds between a worker's reports (Locust's default is 3)
MONITOR_INTERVAL = 1.0
TICK = 0.1  # seconds between two looks at the worker's event loop
LAG_BEHIND_MS = 10.0  # a tick this late means the loop was busy: the worker set the pace


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--perfgate-events", default="", include_in_web_ui=False,
                        help="perfgate: where the master writes its events (JSON lines)")
    parser.add_argument("--perfgate-control", default="", include_in_web_ui=False,
                        help="perfgate: file the master reads go/stop from")
    parser.add_argument("--perfgate-run-time", type=float, default=0.0, include_in_web_ui=False,
                        help="perfgate: seconds from the start to the graceful stop")
    parser.add_argument("--perfgate-buckets", default="locust", include_in_web_ui=False,
                        help="perfgate: 'fine' rounds response times to 3 significant digits")
    parser.add_argument("--perfgate-stages", default="", include_in_web_ui=False,
                        help="perfgate: JSON [start users, [[seconds, target], ...]]: a ramp")


def users_at(t: float, start: int, stages: list[list[float]]) -> int:
    """Users ``t`` seconds into a ramp: from ``start``, linear within each ``[seconds,
    target]`` stage, the last target after the last stage (k6's ``ramping-vus``)."""
    before, begin = float(start), 0.0
    for duration, target in stages:
        if t < begin + duration:
            return round(before + (target - before) * (t - begin) / duration)
        before, begin = float(target), begin + duration
    return round(before)


def fine_bucket(response_time: float) -> float:
    """A response time to 3 significant digits (Locust's own buckets keep about 2)."""
    return float(f"{response_time:.3g}") if response_time > 0 else 0.0


class _Master:
    """The master's side: events out, the go/stop control in, the graceful stop."""

    def __init__(self, environment: Any, runner: MasterRunner) -> None:
        self.environment = environment
        self.runner = runner
        options = environment.parsed_options
        self.control = options.perfgate_control
        self.run_time = options.perfgate_run_time
        #: ``[start_users, [[seconds, users], ...]]`` for a ramp, None for a constant count.
        self.stages: tuple[int, list[list[float]]] | None = (
            json.loads(options.perfgate_stages) if options.perfgate_stages else None)
        self.out = open(options.perfgate_events, "a", encoding="utf-8")  # noqa: SIM115
        self.missing: set[str] = set()
        self.joined: set[str] = set()
        self.stopping = False
        events.worker_connect.add_listener(self.on_connect)
        events.worker_report.add_listener(self.on_report)
        events.test_start.add_listener(self.on_test_start)
        events.quitting.add_listener(self.on_quitting)

    def write(self, event: str, **data: Any) -> None:
        if self.out.closed:
            return
        self.out.write(json.dumps({"event": event, "t": time.time(), **data},
                                  default=str) + "\n")
        self.out.flush()

    def read_control(self) -> str:
        try:
            with open(self.control, encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return ""

    def announce(self) -> None:
        """Say which hosts the load would go to, and wait for perfgate's go."""
        import locust

        hosts = {cls.__name__: getattr(cls, "host", None) for cls in self.environment.user_classes}
        self.write("init", version=locust.__version__, host=self.environment.host,
                   user_hosts=hosts, pid=os.getpid())
        while self.control and self.read_control() not in ("go", "stop"):
            gevent.sleep(0.02)
        gevent.spawn(self.monitor)

    def on_connect(self, client_id: str, **_: Any) -> None:
        self.joined.add(client_id)
        self.write("connect", worker=client_id)

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        self.write("report", worker=client_id, stats=data.get("stats") or [],
                   errors=data.get("errors") or {}, users=data.get("user_count"),
                   agent=data.get("perfgate"), counts=data.get("perfgate_counts"))

    def on_test_start(self, **_: Any) -> None:
        self.write("start", users=self.runner.target_user_count)
        if self.run_time > 0:
            gevent.spawn_later(self.run_time, self.stop, "run time reached")
        if self.stages is not None:
            self.runner.greenlet.spawn(self.ramp)

    def ramp(self) -> None:
        """Every second, set the users the stages ask for now (spawned within the second);
        the run time, the stages' sum, then stops the test as it stops any other."""
        assert self.stages is not None  # spawned only for a ramp
        start, stages = self.stages
        rate = float(max([start, *(target for _, target in stages), 1]))
        began, users = time.monotonic(), start
        while not self.stopping:
            wanted = users_at(time.monotonic() - began, start, stages)
            if wanted != users:
                users = wanted
                self.runner.start(users, rate)  # returns once the workers were told
            gevent.sleep(1.0 - (time.monotonic() - began) % 1.0)

    def stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.write("stopping", reason=reason)
        self.runner.stop()  # waits until every worker stopped its users (and reported)
        self.write("stopped")
        # Workers that confirmed the stop are no longer the master's clients, so its quit()
        # would not reach them: tell every worker that joined to quit.
        for worker in sorted(self.joined):
            self.runner.send_message("quit", client_id=worker)
        self.runner.quit()

    def monitor(self) -> None:
        while not self.out.closed:
            workers = []
            for node in list(self.runner.clients.values()):
                workers.append({"id": node.id, "state": node.state, "users": node.user_count,
                                "cpu": node.cpu_usage})
                if node.state == locust_runners.STATE_MISSING and node.id not in self.missing:
                    self.missing.add(node.id)
                    self.write("missing", worker=node.id)
            self.write("workers", workers=workers, state=self.runner.state,
                       users=self.runner.user_count)
            if self.read_control() == "stop":
                gevent.spawn(self.stop, "stopped by perfgate")
            gevent.sleep(MONITOR_INTERVAL)

    def on_quitting(self, **_: Any) -> None:
        exceptions = [{"count": row["count"], "msg": row["msg"], "traceback": row["traceback"],
                       "nodes": sorted(row["nodes"])}
                      for row in self.runner.exceptions.values()]
        total = self.runner.stats.total
        self.write("end", exceptions=exceptions, requests=total.num_requests,
                   failures=total.num_failures)
        self.out.close()


class _Worker:
    """A worker's side: reports every second, a last report at the stop, CPU samples."""

    def __init__(self, environment: Any, runner: WorkerRunner) -> None:
        self.environment = environment
        self.runner = runner
        self.cpu: list[list[float]] = []
        locust_runners.WORKER_REPORT_INTERVAL = REPORT_INTERVAL
        events.report_to_master.add_listener(self.on_report)
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        # in the runner's group: a greenlet of its own stops the worker's spawns from
        # the second on (a LoadTestShape changes the users every second)
        runner.greenlet.spawn(self.sample_health)

    def sample_health(self) -> None:
        """Every second: CPU (% of one core), ticks of 100 ms, ticks late, the worst lateness.

        A tick is late when the gevent loop woke it ``LAG_BEHIND_MS`` or more after its time:
        the loop was busy (a task computing, a saturated worker), and every request waiting
        on it was timed longer than the service took.
        """
        process = psutil.Process()
        process.cpu_percent(None)
        ticks = late = 0
        worst = 0.0
        last = time.time()
        while True:
            due = time.perf_counter() + TICK
            gevent.sleep(TICK)
            lag = max(0.0, (time.perf_counter() - due) * 1000)
            ticks += 1
            late += lag >= LAG_BEHIND_MS
            worst = max(worst, lag)
            if time.time() - last >= MONITOR_INTERVAL:
                last = time.time()
                self.cpu.append([last, process.cpu_percent(None), ticks, late, worst])
                ticks = late = 0
                worst = 0.0

    def on_report(self, client_id: str, data: dict[str, Any]) -> None:
        samples, self.cpu = self.cpu, []
        data["perfgate"] = {"cpu": samples, "pid": os.getpid()}

    def on_test_start(self, **_: Any) -> None:
        # the master's options reach a worker with its first users, just before this event
        if getattr(self.environment.parsed_options, "perfgate_buckets", "locust") == "fine":
            # locust's rounding, replaced by one that keeps fractions of a millisecond: its
            # buckets are declared int, but locust only adds and compares them.
            locust_stats.bucket_response_time = fine_bucket  # type: ignore[assignment]

    def on_test_stop(self, **_: Any) -> None:
        data: dict[str, Any] = {}
        self.environment.events.report_to_master.fire(client_id=self.runner.client_id,
                                                       data=data)
        self.runner.send_message("stats", data)
        # The users are stopped. After a stop a worker waits --stop-timeout more before it
        # reads its next message; the master's quit would wait that long: the wait is over.
        self.environment.stop_timeout = 0


class Interrupted(Exception):
    """A request still waiting for its response when its user was stopped."""


def _record_interrupted(session_class: Any) -> None:
    """Make every request a user of ``session_class`` was still waiting on when it was
    stopped (``--stop-timeout`` over, or the run interrupted) a failed request.

    Locust stops a user by killing its greenlet; the request it was waiting on then never
    fires its ``request`` event, and a request that hangs would be seen nowhere. Here the
    kill fires the event first: a failure, timed from the request's start to that moment.
    """
    original = session_class.request
    if getattr(original, "perfgate_records_interrupted", False):
        return

    def request(self: Any, method: str, url: str, name: str | None = None, *args: Any,
                **kwargs: Any) -> Any:
        start_time = time.time()
        started = time.perf_counter()
        try:
            return original(self, method, url, name, *args, **kwargs)
        except gevent.GreenletExit:
            label = name or getattr(self, "request_name", None) or urlsplit(str(url)).path
            events.request.fire(
                request_type=method, name=label or "/",
                response_time=(time.perf_counter() - started) * 1000, response_length=0,
                exception=Interrupted("interrupted: no response yet when the load ended"),
                context={}, response=None, start_time=start_time, url=url)
            raise

    request.perfgate_records_interrupted = True  # type: ignore[attr-defined]
    session_class.request = request


@events.init.add_listener
def _init(environment: Any, runner: Any, **_: Any) -> None:
    if isinstance(runner, MasterRunner) and environment.parsed_options.perfgate_events:
        _Master(environment, runner).announce()
    elif isinstance(runner, WorkerRunner):
        _Worker(environment, runner)
        _record_interrupted(HttpSession)
        _record_interrupted(FastHttpSession)
