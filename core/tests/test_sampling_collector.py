"""SamplingCollector: the thread, outages, recovery, leaving out what a lost server measured."""

from __future__ import annotations

import threading

import pytest

from perfgate import ConfigError, SamplingCollector, SamplingConfig
from perfgate.testing import collect, run_context


class Backend:
    """A server stand-in whose counter the test drives and can take down."""

    def __init__(self) -> None:
        self.up = True
        self.value = 0
        self.lock = threading.Lock()


class CounterCollector(SamplingCollector):
    name = "counter"
    Config = SamplingConfig
    backend: Backend

    def describe(self) -> str:
        return "backend:1"

    def sample(self, now: float) -> None:
        with self.backend.lock:
            up, value = self.backend.up, self.backend.value
        if not up:
            self.sample_failed("connection refused", now)
            return
        self.sample_succeeded(now)
        self.metrics.gauge("counter.value").add(value, now)

    def details(self) -> dict:
        return self.sampling_details()


def make(backend: Backend) -> type[CounterCollector]:
    return type("Bound", (CounterCollector,), {"backend": backend})


def test_samples_every_interval_and_sets_the_window_to_good_samples():
    backend = Backend()

    def workload() -> None:
        for i in range(5):
            with backend.lock:
                backend.value = i
            threading.Event().wait(0.05)

    collector, metrics = collect(make(backend), SamplingConfig(interval=0.05), workload)
    gauge = metrics.combined("counter.value")
    assert gauge is not None and gauge.aggregate("value") == 4
    assert collector.samples_ok >= 5 and collector.samples_failed == 0
    assert collector.errors == []
    assert gauge.start == collector.first_ok and gauge.end == collector.last_ok
    assert collector.details()["samples"] == collector.samples_ok


def test_an_outage_is_reported_once_and_recovery_is_noted():
    backend = Backend()
    context = run_context()

    def workload() -> None:
        threading.Event().wait(0.12)
        backend.up = False
        threading.Event().wait(0.2)
        backend.up = True
        threading.Event().wait(0.12)

    collector, metrics = collect(make(backend), SamplingConfig(interval=0.04), workload,
                                 context)
    assert collector.samples_failed >= 2
    assert len(collector.errors) == 1  # the first failed sample only
    assert collector.errors[0].startswith("counter: lost backend:1 at ")
    assert collector.errors[0].endswith(": connection refused")
    assert any("backend:1 answered again at" in note for note in context.notes())
    assert len(metrics) == 1  # a server that came back is measured again


def test_metrics_are_left_out_when_the_server_is_down_at_the_end():
    backend = Backend()

    def workload() -> None:
        threading.Event().wait(0.1)
        backend.up = False

    collector, metrics = collect(make(backend), SamplingConfig(interval=0.04), workload)
    assert len(metrics) == 0
    assert any("did not answer from" in e and "are left out" in e for e in collector.errors)


def test_a_server_never_reached_says_cannot_sample():
    backend = Backend()
    backend.up = False
    collector, metrics = collect(make(backend), SamplingConfig(interval=0.04), lambda: None)
    assert len(metrics) == 0
    assert collector.errors[0].startswith("counter: cannot sample backend:1 at ")
    assert collector.first_ok is None


def test_options_as_a_mapping_are_checked_as_a_targets_file_is():
    backend = Backend()
    collector, _ = collect(make(backend), {"interval": "50ms"},
                           lambda: threading.Event().wait(0.1))
    assert isinstance(collector.config, SamplingConfig)
    assert collector.config.interval == 0.05
    assert collector.samples_ok >= 2
    ran: list[int] = []
    with pytest.raises(ConfigError) as caught:
        collect(make(backend), {"intervall": "50ms"}, lambda: ran.append(1))
    assert "collectors.counter.intervall: unknown key 'intervall'; did you mean 'interval'?" \
        in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        collect(make(backend), {"interval": "soon"}, lambda: ran.append(1))
    assert "collectors.counter.interval:" in str(caught.value)
    assert ran == []  # nothing started
