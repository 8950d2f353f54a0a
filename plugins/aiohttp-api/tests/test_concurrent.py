"""Scenarios that run together, against the ground-truth server: windows, exact counts, rates.

The server counts every request by path and records when each arrived, so what each
scenario sent, and when, is known independently of what perfgate measured.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

from perfgate import LiveUpdate, hookimpl
from perfgate.testing import run_targets

pytestmark = pytest.mark.usefixtures("no_entrypoints")


@pytest.fixture
def no_entrypoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")


def http_plugin() -> Any:
    import perfgate_aiohttp_api

    return perfgate_aiohttp_api


def test_a_fixed_delay_and_a_fixed_arrival_rate_2s_later(server, tmp_path) -> None:
    server.reset()
    outcome = run_targets({
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {
            "steady": {"driver": "http", "service": "gt", "executor": "constant-vus",
                       "vus": 5, "duration": "4s",
                       "requests": [{"name": "slow", "path": "/delay/100"}]},
            "arrivals": {"driver": "http", "service": "gt", "executor": "constant-arrival-rate",
                         "rate": 50, "duration": "3s", "pre_allocated_vus": 10,
                         "start_time": "2s",
                         "requests": [{"name": "fast", "path": "/delay/5"}]},
        },
        "targets": {
            "steady-latency": {"metric": "http.req_duration{scenario:steady}",
                               "critical": "p(95) < 1s"},
            "arrival-rate": {"metric": "http.reqs{scenario:arrivals}", "critical": "rate > 1"},
        },
    }, output_dir=tmp_path, plugins=(http_plugin(),))
    result = outcome.result
    s = {doc["name"]: doc for doc in result.scenarios}
    steady, arrivals = s["steady"], s["arrivals"]
    # Both windows: the second starts 2 s after the first, each lasts its duration (plus
    # connecting first and the last requests' answers).
    assert arrivals["started"] - steady["started"] == pytest.approx(2.0, abs=0.1)
    assert steady["finished"] - steady["started"] == pytest.approx(4.0, abs=0.4)
    assert arrivals["finished"] - arrivals["started"] == pytest.approx(3.0, abs=0.4)
    assert arrivals["started"] < steady["finished"]  # they overlapped
    # Exact counts: what each scenario recorded is what the server received on its path.
    paths = server.counters()["paths"]
    reqs = {name: result.metric_set("http.reqs").combined("http.reqs", {"scenario": name})
            for name in s}
    assert reqs["steady"].aggregate("count") == paths["/delay/100"] > 100
    assert reqs["arrivals"].aggregate("count") == paths["/delay/5"] == 150
    dropped = result.metric_set("dropped_iterations").combined(
        "dropped_iterations", {"scenario": "arrivals"})
    assert dropped.aggregate("count") == 0
    # The arrival rate: as perfgate reports it (requests per second of the scenario's load,
    # k6's definition), and as the server saw the requests come while the other scenario ran
    # beside them (from the 10th on: a busy machine may start the schedule a little late,
    # and the late starts are then sent at once, timed from when they were due).
    check = next(c for c in result.checks if c.name == "arrival-rate")
    assert check.measured == pytest.approx(50.0, rel=0.02)
    seen = server.arrivals("/delay/5")
    assert arrivals["started"] <= seen[0] and seen[-1] <= arrivals["finished"]
    assert (len(seen) - 10) / (seen[-1] - seen[9]) == pytest.approx(50.0, rel=0.02)
    # The file's own checks pass; the driver-health checks say whether this machine kept
    # the generator on schedule, which the numbers above do not depend on.
    verdicts = {c.name: c.verdict.value for c in result.checks if c.group == "targets"}
    assert verdicts == {"steady-latency": "pass", "arrival-rate": "pass"}, result.checks


class TermWhenBothMeasured:
    """Sends SIGTERM to this process once both scenarios have measured some requests."""

    def __init__(self) -> None:
        self.sent = False

    @hookimpl
    def perfgate_run_started(self, context: Any) -> None:
        context.live.subscribe(self.look)

    def look(self, update: LiveUpdate) -> None:
        counts = [update.live.combined("http.reqs", {"scenario": name})
                  for name in ("closed", "open")]
        if not self.sent and all(c is not None and c.aggregate("count") > 10 for c in counts):
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_stops_both_scenarios_and_each_keeps_what_it_measured(server, tmp_path) -> None:
    server.reset()
    term = TermWhenBothMeasured()
    timer = threading.Timer(20, os.kill, (os.getpid(), signal.SIGTERM))  # a bound, not the test
    timer.start()
    try:
        outcome = run_targets({
            "version": 1,
            "services": {"gt": {"url": server.url}},
            "scenarios": {
                "closed": {"driver": "http", "service": "gt", "executor": "constant-vus",
                           "vus": 3, "duration": "30s",
                           "requests": [{"name": "a", "path": "/delay/20"}]},
                "open": {"driver": "http", "service": "gt",
                         "executor": "constant-arrival-rate", "rate": 40, "duration": "30s",
                         "start_time": "500ms", "requests": [{"name": "b", "path": "/delay/5"}]},
                "never": {"driver": "http", "service": "gt", "executor": "constant-vus",
                          "vus": 1, "duration": "1s", "start_time": "20s",
                          "requests": [{"name": "c", "path": "/delay/1"}]},
            },
            "targets": {
                "closed": {"metric": "http.reqs{scenario:closed}", "critical": "count > 0"},
                "open": {"metric": "http.reqs{scenario:open}", "critical": "count > 0"},
            },
        }, output_dir=tmp_path, plugins=(http_plugin(), term))
    finally:
        timer.cancel()
    result = outcome.result
    assert term.sent
    assert outcome.exit_code == 143 and result.run["status"] == "interrupted"
    s = {doc["name"]: doc for doc in result.scenarios}
    assert (s["closed"]["status"], s["open"]["status"]) == ("interrupted", "interrupted")
    assert (s["never"]["status"], s["never"]["started"]) == ("interrupted", None)
    assert result.run["duration"] < 15
    # Each driver kept what it measured: exactly what the server received on its path.
    paths = server.counters()["paths"]
    metrics = result.metric_set("http.reqs")
    for name, path in (("closed", "/delay/20"), ("open", "/delay/5")):
        count = metrics.combined("http.reqs", {"scenario": name}).aggregate("count")
        assert count == paths[path] > 10, name
    assert "/delay/1" not in paths
    assert [c.verdict.value for c in result.checks if c.group == "targets"] == ["pass", "pass"]
