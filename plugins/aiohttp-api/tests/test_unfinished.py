"""Requests that never finish: recorded as failed when the load ends, never dropped."""

from __future__ import annotations

import pytest


def test_requests_in_flight_at_the_end_are_failed_with_their_wait(drive, server,
                                                                  value) -> None:
    # Every 50th request hangs; 500 scheduled starts: 10 never answer. With a 60 s timeout
    # and a 1 s graceful_stop, they are still in flight when the run ends.
    metrics, driver = drive({"executor": "constant-arrival-rate", "rate": 100,
                             "duration": "5s", "pre_allocated_vus": 20, "max_vus": 100,
                             "graceful_stop": "1s", "timeout": "60s",
                             "requests": [{"name": "hang", "path": "/hang/50"}]})
    assert server.counters()["paths"]["/hang/50"] == 500
    assert value(metrics, "http.reqs", "count") == 500
    assert value(metrics, "http.req_failed", "rate") == pytest.approx(10 / 500)
    stuck = {"error": "interrupted", "status": "0"}
    assert value(metrics, "http.reqs", "count", stuck) == 10
    # timed from their scheduled start to the end of graceful_stop: the first one (the
    # 50th start, at 0.49 s) waited about 5.5 s, the last (at 4.99 s) about 1 s
    assert value(metrics, "http.req_duration", "max", stuck) == pytest.approx(5500, abs=400)
    assert value(metrics, "http.req_duration", "min", stuck) == pytest.approx(1000, abs=400)
    assert driver.details()["driver"]["unfinished_requests"] == 10
    assert any("10 request(s) were still in flight" in n and "graceful_stop (1s)" in n
               for n in driver.context.notes())


@pytest.mark.parametrize("executor", [
    {"executor": "constant-vus", "vus": 4, "duration": "1s"},
    {"executor": "ramping-vus", "start_vus": 4, "stages": [{"duration": "1s", "target": 4}]},
    {"executor": "per-vu-iterations", "vus": 4, "iterations": 1000, "max_duration": "1s"},
    {"executor": "shared-iterations", "vus": 4, "iterations": 1000, "max_duration": "1s"},
    {"executor": "ramping-arrival-rate", "start_rate": 40, "pre_allocated_vus": 4,
     "stages": [{"duration": "1s", "target": 40}]},
])
def test_every_executor_records_what_is_in_flight(drive, server, value, executor) -> None:
    # Every request hangs: each VU's one request is in flight when the load ends.
    metrics, _ = drive({**executor, "graceful_stop": "200ms", "timeout": "60s",
                        "requests": [{"name": "hang", "path": "/hang/1"}]})
    sent = server.counters()["paths"]["/hang/1"]
    assert sent >= 4
    assert value(metrics, "http.reqs", "count") == sent
    assert value(metrics, "http.reqs", "count", {"error": "interrupted"}) == sent
    assert value(metrics, "http.req_failed", "rate") == 1.0


def test_workers_record_what_is_in_flight(drive, server, value) -> None:
    metrics, _ = drive({"executor": "constant-arrival-rate", "rate": 50, "duration": "2s",
                        "pre_allocated_vus": 10, "workers": 2, "graceful_stop": "500ms",
                        "requests": [{"name": "hang", "path": "/hang/10"}]})
    assert server.counters()["paths"]["/hang/10"] == 100
    assert value(metrics, "http.reqs", "count") == 100
    assert value(metrics, "http.reqs", "count", {"error": "interrupted"}) == 10


def test_a_request_past_its_timeout_at_the_end_is_a_timeout(drive, server, value) -> None:
    metrics, _ = drive({"executor": "constant-vus", "vus": 2, "duration": "300ms",
                        "graceful_stop": "2s", "timeout": "500ms",
                        "requests": [{"name": "hang", "path": "/hang/1"}]})
    assert value(metrics, "http.reqs", "count", {"error": "timeout"}) == 2
    assert not metrics.select("http.reqs", {"error": "interrupted"})
