"""Running scenarios together, as k6 does: each from its ``start_time``, or ``after`` another.

Every scenario's driver runs in a thread of its own, so one that crashes or is slow holds up
no other; the run's thread only starts them on time, waits, and hands each finished scenario
back (:class:`ScenarioRun`) to be recorded, one at a time. The load is over when the last
scenario ends. :meth:`Scheduler.stop` (Ctrl-C, SIGTERM, ``abort_on_fail``) interrupts every
running driver and starts no other; each keeps what it measured.

Times: the load begins at ``t0`` (collectors are running by then); a scenario starts at
``t0 + start_time`` or, with ``after: other``, at ``other``'s end ``+ start_time``, both scaled
by ``--time-scale``. A scenario that waits for one left out by ``--only`` counts from ``t0``;
one that waits for a scenario that failed still starts (the run is broken either way, and
what it measures may say why).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfgate.components import LoadDriver
from perfgate.context import RunContext
from perfgate.live import ScenarioState
from perfgate.metrics import MetricSet
from perfgate.targets import ScenarioUse

#: Longest wait between two looks at the scenarios (a driver that ended, a stop).
POLL = 0.1


@dataclass
class ScenarioRun:
    """One scenario of this run: its driver, its thread, and how it went."""

    name: str
    use: ScenarioUse
    state: ScenarioState
    driver: LoadDriver[Any] | None = None
    thread: threading.Thread | None = None
    #: What ``run()`` returned (or the ``metrics`` of the exception it raised).
    measured: MetricSet | None = None
    #: What ``run()`` (or making the driver) raised.
    exception: BaseException | None = None
    #: Why it did not start, when it did not.
    not_started: str | None = None
    #: Set by its thread once ``run()`` returned and the window closed.
    done: bool = False

    @property
    def after(self) -> str | None:
        return self.use.config.after

    @property
    def start_time(self) -> float:
        return self.use.config.start_time


class Scheduler:
    """Starts each scenario's driver on time in a thread of its own and waits for them all.

    :param on_start: called in the run's thread just before a scenario's driver starts (its
        window is open); start what goes with it (``during:`` collectors) here.
    :param on_end: called in the run's thread for every scenario once it is over or will not
        start (``state.status`` says which), in the order they end.
    :param on_error: records a problem of a scenario's driver: ``(scenario, phase, exc)``.
    """

    def __init__(self, scenarios: dict[str, ScenarioUse], context: RunContext,
                 only: list[str], on_start: Callable[[ScenarioRun], None],
                 on_end: Callable[[ScenarioRun], None],
                 on_error: Callable[[str, str, BaseException], None]) -> None:
        self.context = context
        self.live = context.live
        self.on_start, self.on_end, self.on_error = on_start, on_end, on_error
        self.runs: dict[str, ScenarioRun] = {}
        for name, use in scenarios.items():
            state = ScenarioState(name, use.config.driver)
            if only and name not in only:
                state.status = "skipped"
            self.runs[name] = ScenarioRun(name, use, state)
            self.live.scenarios[name] = state
        self._lock = threading.Lock()
        self._changed = threading.Event()
        #: (status, why) once the run stops early: no scenario starts after that.
        self.stopped: tuple[str, str] | None = None
        self.t0: float | None = None

    # -- control from other threads --------------------------------------------------------
    def stop(self, status: str, why: str) -> None:
        """Stop the load: interrupt every running driver, start no other scenario.

        ``status`` is what the scenarios stopped this way become (``interrupted`` after a
        signal, ``aborted`` by ``abort_on_fail``); ``why`` says so for those that never
        started. Safe from a signal handler and from any thread; the first stop wins.
        """
        with self._lock:
            if self.stopped is None:
                self.stopped = (status, why)
            running = [r for r in self.runs.values() if r.state.status == "running"]
        self.context.stopping.set()
        for run in running:
            if run.driver is None:
                continue
            try:
                run.driver.interrupt()
            except Exception as exc:  # a broken interrupt() must not hide the stop
                self.on_error(run.name, "interrupt", exc)
        self._changed.set()

    def running(self) -> list[ScenarioRun]:
        with self._lock:
            return [r for r in self.runs.values() if r.state.status == "running"]

    # -- the run's thread --------------------------------------------------------------------
    def run(self) -> None:
        """Run every scenario to its end; returns when the last one is over."""
        self.t0 = time.time()
        waiting = [r for r in self.runs.values() if r.state.status == "waiting"]
        for run in self.runs.values():
            if run.state.status == "skipped":
                self.on_end(run)
        running: list[ScenarioRun] = []
        while waiting or running:
            for run in list(running):
                if run.done and run.thread is not None:
                    run.thread.join()
                    running.remove(run)
                    self._ended(run)
            now = time.time()
            due = now + POLL
            for run in list(waiting):
                at = self._start_at(run)
                if self.stopped is not None:
                    waiting.remove(run)
                    self._never_started(run)
                elif at is not None and at <= now:
                    waiting.remove(run)
                    if self._start(run):
                        running.append(run)
                elif at is not None:
                    due = min(due, at)
            if waiting or running:
                self._changed.wait(max(min(due - time.time(), POLL), 0.0))
                self._changed.clear()

    def _start_at(self, run: ScenarioRun) -> float | None:
        """When ``run`` is due (epoch seconds), or None while it waits for another one."""
        assert self.t0 is not None
        base = self.t0
        if run.after is not None:
            other = self.runs.get(run.after)
            if other is not None and other.state.status != "skipped":
                if other.state.status in ("waiting", "running"):
                    return None
                if other.state.finished is not None:
                    base = other.state.finished
        return base + self.context.scale(run.start_time)

    def _start(self, run: ScenarioRun) -> bool:
        try:
            run.driver = run.use.driver(run.use.config, self.context, run.name)
        except Exception as exc:
            run.exception = exc
            run.state.status = "failed"
            run.state.started = run.state.finished = time.time()
            self.on_end(run)
            return False
        run.state.started = self.live.open_window(run.name)
        with self._lock:
            run.state.status = "running"
        self.on_start(run)
        run.thread = threading.Thread(target=self._drive, args=(run,), daemon=True,
                                      name=f"perfgate-scenario-{run.name}")
        run.thread.start()
        return True

    def _drive(self, run: ScenarioRun) -> None:
        """The scenario's thread: the driver's ``run()``, then the window closes."""
        assert run.driver is not None
        progress = self.context.progress
        if progress is not None:
            progress.bind(run.name)
        try:
            run.measured = run.driver.run()
        except Exception as exc:
            run.exception = exc
            partial = getattr(exc, "metrics", None)  # what it measured before it broke
            if isinstance(partial, MetricSet):
                run.measured = partial
        finally:
            run.state.finished = self.live.close_window(run.name)
            run.done = True
            self._changed.set()

    def _ended(self, run: ScenarioRun) -> None:
        with self._lock:
            if run.exception is not None:
                run.state.status = "failed"
            elif self.stopped is not None:
                run.state.status = self.stopped[0]
            else:
                run.state.status = "completed"
        self.on_end(run)

    def _never_started(self, run: ScenarioRun) -> None:
        assert self.stopped is not None
        run.state.status, run.not_started = self.stopped
        self.on_end(run)
