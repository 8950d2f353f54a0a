"""The run's metrics while it runs: deltas from drivers and collectors, merged as they come.

Load drivers and collectors hand the core mergeable deltas about once a second
(:meth:`perfgate.Component.publish`; a :class:`~perfgate.SamplingCollector` does it after each
sample). :class:`LiveRun` merges them into one live view of the run, tagged as the final
metrics will be (``scenario`` on a driver's, ``instance`` on a collector used under its own
key), and cuts collector series to scenario windows: a collector sample taken at ``at`` counts
for every scenario that was running at ``at``. Window edges are read under the same lock as
publications, so the cut is exact: a sample published before a window opened was taken
before it.

About once a second the run calls :meth:`LiveRun.tick`, which hands every subscriber a
:class:`LiveUpdate`: the deltas that arrived since the last one, and the scenarios' states.
A subscriber that merges every delta it is given has, at the end, exactly the run's metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from perfgate.metrics import Metric, MetricSet, Tags

Source = tuple[str, str]  # (role, instance): ("load_driver", "load"), ("collector", "system")


@dataclass
class ScenarioState:
    """One scenario as the run sees it now."""

    name: str
    driver: str
    #: ``waiting``, ``running``, ``completed``, ``failed``, ``interrupted``, ``aborted``,
    #: ``skipped``.
    status: str = "waiting"
    #: When it started and ended (epoch seconds); None before.
    started: float | None = None
    finished: float | None = None
    #: Seconds of load the driver plans (``progress.update(planned=...)``), if it said.
    planned: float | None = None


@dataclass
class LiveUpdate:
    """What a live subscriber gets about once a second."""

    #: When the update was made (epoch seconds).
    at: float
    #: Everything published since the previous update, tagged like the final metrics (no
    #: window cuts). Merge every delta to follow the run's totals exactly.
    delta: MetricSet
    #: Every scenario's state, in the order of the targets file.
    scenarios: list[ScenarioState]
    #: The live run, for questions about totals: ``live.combined("http.req_duration", tags)``.
    live: LiveRun
    #: True for the last update of the run (after collectors stopped).
    final: bool = False


Subscriber = Callable[[LiveUpdate], None]


@dataclass
class _Window:
    start: float
    end: float | None = None

    def holds(self, at: float) -> bool:
        return self.start <= at and (self.end is None or at <= self.end)


@dataclass
class _Source:
    tags: dict[str, str] = field(default_factory=dict)
    published: bool = False


class LiveRun:
    """The live metrics of one run, the scenarios' windows and their subscribers.

    :param cuts: scenario → names of collector metrics to cut to its window (only what
        targets ask for is cut: see :meth:`perfgate.TargetsFile.window_cuts`).
    """

    def __init__(self, cuts: dict[str, set[str]] | None = None) -> None:
        self._lock = threading.Lock()
        self._cuts = {scenario: set(names) for scenario, names in (cuts or {}).items()}
        self._view = MetricSet()
        self._pending = MetricSet()
        self._windows: dict[str, _Window] = {}
        #: (scenario, collector instance) → that collector's samples taken in the window
        self._cut: dict[tuple[str, str], MetricSet] = {}
        self._sources: dict[Source, _Source] = {}
        self._subscribers: list[Subscriber] = []
        self.scenarios: dict[str, ScenarioState] = {}

    # -- sources -------------------------------------------------------------------------
    def attach(self, role: str, instance: str, tags: Tags | None = None) -> None:
        """Tag everything ``instance`` of ``role`` publishes with ``tags`` (added if missing)."""
        with self._lock:
            self._sources[(role, instance)] = _Source(dict(tags or {}))

    def published(self, role: str, instance: str) -> bool:
        """Whether this component published anything (else the run publishes its final set)."""
        with self._lock:
            source = self._sources.get((role, instance))
            return bool(source and source.published)

    def publish(self, role: str, instance: str, delta: MetricSet,
                at: float | None = None) -> None:
        """Merge ``delta`` from a component; ``at`` is when its samples were taken (now).

        Safe from any thread. A collector's samples also count for the window of every
        scenario running at ``at``.
        """
        if not len(delta):
            return
        with self._lock:
            at = time.time() if at is None else at
            source = self._sources.setdefault((role, instance), _Source())
            source.published = True
            if source.tags:
                delta = delta.tag_all(**source.tags)
            self._view.merge(delta)
            self._pending.merge(delta)
            if role == "collector":
                self._cut_to_windows(instance, delta, at)

    def _cut_to_windows(self, instance: str, delta: MetricSet, at: float) -> None:
        for scenario, names in self._cuts.items():
            window = self._windows.get(scenario)
            if window is None or not window.holds(at):
                continue
            for metric in delta:
                if metric.name in names:
                    cut = _cut_copy(metric, scenario)
                    self._cut.setdefault((scenario, instance), MetricSet()).add(cut)
                    self._view.add(cut)

    # -- windows -------------------------------------------------------------------------
    def open_window(self, scenario: str) -> float:
        """The scenario starts now; returns the window's start (epoch seconds)."""
        with self._lock:
            start = time.time()
            self._windows[scenario] = _Window(start)
            return start

    def close_window(self, scenario: str) -> float:
        """The scenario ended now; returns the window's end."""
        with self._lock:
            end = time.time()
            window = self._windows.setdefault(scenario, _Window(end))
            window.end = end
            return end

    def window(self, scenario: str) -> tuple[float, float | None] | None:
        """``(start, end)`` of a scenario's window (``end`` None while it runs), or None if
        it has not started."""
        with self._lock:
            window = self._windows.get(scenario)
            return None if window is None else (window.start, window.end)

    def cut(self, instance: str) -> MetricSet:
        """Collector ``instance``'s samples cut to scenario windows, as the final metrics
        carry them (tagged ``scenario:<name>``, ``window.scenario`` set)."""
        with self._lock:
            out = MetricSet()
            for (_, owner), metrics in self._cut.items():
                if owner == instance:
                    out.merge(metrics)
            return out

    def cut_names(self, scenario: str) -> set[str]:
        """The collector metrics cut to ``scenario``'s window."""
        return set(self._cuts.get(scenario, ()))

    # -- reading -------------------------------------------------------------------------
    def combined(self, name: str, tags: Tags | None = None) -> Metric | None:
        """Every live series matching the selector, merged into a copy (see
        :meth:`perfgate.MetricSet.combined`); None if nothing matched yet."""
        with self._lock:
            return self._view.combined(name, tags)

    def metrics(self) -> MetricSet:
        """A copy of everything published so far (window cuts included)."""
        with self._lock:
            return MetricSet(self._view)

    # -- subscribers ---------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(update)`` about once a second while the run measures, and once
        at the end (``update.final``); returns a function that unsubscribes it.

        Subscribers are called one after another on the run's live thread: keep them short
        (hand slow work, an upload, to a thread of your own). One that raises is recorded
        as a run error and not called again.
        """
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def tick(self, final: bool = False) -> list[tuple[Subscriber, BaseException]]:
        """Hand every subscriber what arrived since the last tick; returns the failures
        (those subscribers are dropped)."""
        with self._lock:
            delta, self._pending = self._pending, MetricSet()
            subscribers = list(self._subscribers)
            states = [replace(s) for s in self.scenarios.values()]
        update = LiveUpdate(time.time(), delta, states, self, final)
        failures: list[tuple[Subscriber, BaseException]] = []
        for subscriber in subscribers:
            try:
                subscriber(update)
            except Exception as exc:
                failures.append((subscriber, exc))
                with self._lock:
                    if subscriber in self._subscribers:
                        self._subscribers.remove(subscriber)
        return failures


def _cut_copy(metric: Metric, scenario: str) -> Metric:
    cut = metric.copy({**metric.tags, "scenario": scenario})
    cut.window_scenario = scenario
    return cut
