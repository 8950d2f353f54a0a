"""Numbers against a server whose behaviour is known exactly."""

from __future__ import annotations

import threading
import time

import pytest

from perfgate import ConfigError, MetricSet


def test_fixed_delay_percentiles_within_5_percent(drive, value, server) -> None:
    metrics, _ = drive({"executor": "constant-vus", "vus": 10, "duration": "2s",
                        "requests": [{"name": "slow", "path": "/delay/100"}]})
    tags = {"name": "slow", "status": "200"}
    assert value(metrics, "http.reqs", "count", tags) > 150
    for p in (50, 95):
        measured = value(metrics, "http.req_duration", "p", tags, p)
        # the ground truth: what the server really spent (its timers run late on a busy box)
        served = server.served("/delay/100", p)
        assert served == pytest.approx(100.0, rel=0.10), f"server p({p}) = {served}"
        assert measured == pytest.approx(served, abs=5.0), f"p({p}) = {measured} vs {served}"
    assert value(metrics, "http.req_duration", "med", tags) == pytest.approx(100.0, rel=0.05)
    assert value(metrics, "http.req_failed", "rate") == 0.0
    waiting = value(metrics, "http.req_waiting", "med")
    assert 100 <= waiting <= value(metrics, "http.req_duration", "med")


def test_known_error_fraction_gives_an_exact_rate(drive, server, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 8, "iterations": 50,
                        "requests": [{"name": "flaky", "path": "/errors/1/4"}]})
    assert value(metrics, "http.reqs", "count") == 400
    assert value(metrics, "http.req_failed", "rate") == 0.25
    assert value(metrics, "http.reqs", "count", {"error": "http_5xx", "status": "500"}) == 100
    assert server.counters()["failed"] == 100


def test_open_model_p99_shows_a_one_second_stall(drive, server, value) -> None:
    timer = threading.Timer(1.0, server.stall, args=(1.0,))
    timer.start()
    try:
        metrics, _ = drive({"executor": "constant-arrival-rate", "rate": 200, "duration": "3s",
                            "pre_allocated_vus": 20, "max_vus": 400,
                            "requests": [{"name": "fast", "path": "/delay/2"}]})
    finally:
        timer.cancel()
    assert value(metrics, "http.reqs", "count") == 600
    p50 = value(metrics, "http.req_duration", "med")
    p99 = value(metrics, "http.req_duration", "p", percentile=99)
    assert p50 < 100, p50
    # 200 starts fall in the stall, waiting from ~1000 ms down to ~0: the top 1% waited ~1 s
    assert p99 >= 900, p99
    assert value(metrics, "dropped_iterations", "count") == 0  # measured: nothing dropped


def test_arrival_rate_achieved_within_2_percent(drive, value) -> None:
    metrics, driver = drive({"executor": "constant-arrival-rate", "rate": 500,
                             "duration": "3s", "pre_allocated_vus": 20, "max_vus": 100,
                             "requests": [{"path": "/delay/1"}]})
    assert value(metrics, "iterations", "count") == 1500
    assert value(metrics, "http.reqs", "rate") == pytest.approx(500, rel=0.02)
    assert value(metrics, "dropped_iterations", "count") == 0
    lag = value(metrics, "perfgate.driver.schedule_lag", "p", percentile=50)
    assert lag < 2.0
    assert driver.details()["driver"]["workers"] == 1


def test_ramping_arrival_rate_follows_the_integral(drive, value) -> None:
    metrics, _ = drive({"executor": "ramping-arrival-rate", "start_rate": 0,
                        "stages": [{"duration": "2s", "target": 200}], "max_vus": 50,
                        "requests": [{"path": "/health"}]})
    assert value(metrics, "iterations", "count") == 200  # area of the triangle: 2 s * 200/s / 2


def test_request_counts_exact_across_workers(drive, server, value) -> None:
    metrics, driver = drive({"executor": "constant-vus", "vus": 12, "duration": "2s",
                             "workers": 3, "requests": [{"name": "a", "path": "/delay/5"},
                                                        {"name": "b", "path": "/health",
                                                         "weight": 2}]})
    counted = server.counters()
    assert value(metrics, "http.reqs", "count") == counted["total"] > 1000
    assert value(metrics, "http.reqs", "count", {"name": "a"}) == counted["paths"]["/delay/5"]
    assert value(metrics, "http.reqs", "count", {"name": "b"}) == counted["paths"]["/health"]
    assert value(metrics, "http.req_duration", "count") == counted["total"]
    assert driver.details()["driver"]["workers"] == 3
    assert value(metrics, "vus", "max") == 12


def test_iterations_exact_across_workers(drive, server, value) -> None:
    metrics, _ = drive({"executor": "shared-iterations", "vus": 6, "iterations": 301,
                        "workers": 2, "requests": [{"path": "/health"}]})
    assert value(metrics, "iterations", "count") == 301 == server.counters()["total"]
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 5, "iterations": 7,
                        "workers": 2, "requests": [{"path": "/health"}]})
    assert value(metrics, "iterations", "count") == 35


def test_arrival_rate_split_over_workers(drive, server, value) -> None:
    metrics, _ = drive({"executor": "constant-arrival-rate", "rate": 300, "duration": "2s",
                        "workers": 2, "max_vus": 60, "requests": [{"path": "/health"}]})
    assert value(metrics, "iterations", "count") == 600 == server.counters()["total"]
    assert value(metrics, "http.reqs", "rate") == pytest.approx(300, rel=0.02)


def test_time_scale_shortens_the_load(drive, value) -> None:
    started = time.monotonic()
    metrics, _ = drive({"executor": "ramping-vus", "start_vus": 0,
                        "stages": [{"duration": "10s", "target": 4},
                                   {"duration": "10s", "target": 4}],
                        "requests": [{"path": "/health", "think_time": "200ms"}]},
                       time_scale=0.05)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert value(metrics, "vus", "max") <= 4
    # Think time is not scaled: the schedule shrinks, each VU keeps its pace.
    assert value(metrics, "iteration_duration", "med") == pytest.approx(200, abs=30)


def test_errors_are_classified_and_never_stop_a_vu(value, make_context) -> None:
    import socket

    from perfgate_aiohttp_api import HttpDriver, HttpScenario
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    cfg = HttpScenario.model_validate({
        "driver": "http", "url": f"http://127.0.0.1:{port}", "executor": "per-vu-iterations",
        "vus": 2, "iterations": 5, "requests": [{"name": "down", "path": "/"}]})
    metrics = HttpDriver(cfg, make_context(), "refused").run()
    assert value(metrics, "http.req_failed", "rate") == 1.0
    assert value(metrics, "http.reqs", "count", {"error": "connect_refused"}) == 10


def test_timeouts_are_errors(drive, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 2, "iterations": 1,
                        "timeout": "300ms", "requests": [{"name": "slow", "path": "/delay/3000"}]})
    assert value(metrics, "http.reqs", "count", {"error": "timeout", "status": "0"}) == 2
    assert 300 <= value(metrics, "http.req_duration", "max") < 600


def test_status_errors_are_tagged(drive, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 3,
                        "requests": [{"name": "missing", "path": "/status/404"}]})
    assert value(metrics, "http.reqs", "count", {"status": "404", "error": "http_4xx"}) == 3
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 3,
                        "expected_statuses": [404],
                        "requests": [{"name": "missing", "path": "/status/404"}]})
    assert value(metrics, "http.req_failed", "rate") == 0.0


def test_load_beyond_loopback_is_refused(server, make_context) -> None:
    from perfgate_aiohttp_api import HttpDriver, HttpScenario

    cfg = HttpScenario.model_validate({
        "driver": "http", "url": "http://example.com", "executor": "constant-vus",
        "duration": "1s", "requests": [{"path": "/"}]})
    with pytest.raises(ConfigError, match=r"refusing to send load to 'example\.com'"):
        HttpDriver(cfg, make_context(), "prod").run()
    # a URL inside a flow step that is not a template is checked too
    cfg = HttpScenario.model_validate({
        "driver": "http", "url": server.url, "executor": "constant-vus", "duration": "1s",
        "flows": [{"name": "f", "steps": [{"path": "/login", "method": "POST",
                                           "json": {}, "capture": {"id": "token"}},
                                          {"url": "http://10.1.2.3/x/${id}"}]}]})
    with pytest.raises(ConfigError, match=r"10\.1\.2\.3"):
        HttpDriver(cfg, make_context(), "prod").run()


def test_allow_hosts_lets_a_listed_host_through(server, value, make_context) -> None:
    from perfgate_aiohttp_api import HttpDriver, HttpScenario

    cfg = HttpScenario.model_validate({
        "driver": "http", "url": server.url.replace("127.0.0.1", "localhost"),
        "executor": "per-vu-iterations", "vus": 1, "iterations": 2,
        "requests": [{"path": "/health"}]})
    metrics = HttpDriver(cfg, make_context(allow_hosts=["localhost"]), "ok").run()
    assert value(metrics, "http.reqs", "count") == 2


def test_interrupt_stops_promptly_and_returns_what_was_measured(server, value,
                                                                make_context) -> None:
    from perfgate_aiohttp_api import HttpDriver, HttpScenario

    cfg = HttpScenario.model_validate({
        "driver": "http", "url": server.url, "executor": "constant-vus", "vus": 5,
        "duration": "60s", "requests": [{"path": "/delay/10"}]})
    driver = HttpDriver(cfg, make_context(), "long")
    threading.Timer(1.0, driver.interrupt).start()
    started = time.monotonic()
    metrics = driver.run()
    assert time.monotonic() - started < 2.0
    assert value(metrics, "http.reqs", "count") > 100
    assert driver.details()["driver"]["interrupted"] is True


def test_context_stopping_is_honoured_by_workers(server, value, make_context) -> None:
    from perfgate_aiohttp_api import HttpDriver, HttpScenario

    cfg = HttpScenario.model_validate({
        "driver": "http", "url": server.url, "executor": "constant-vus", "vus": 4,
        "duration": "60s", "workers": 2, "requests": [{"path": "/delay/10"}]})
    ctx = make_context()
    driver = HttpDriver(cfg, ctx, "long")
    server.reset()

    def stop_once_loading() -> None:
        # Workers take a while to start on a busy machine: stop once the load is on.
        deadline = time.monotonic() + 30
        while server.counters()["total"] < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped.append(time.monotonic())
        ctx.stopping.set()

    stopped: list[float] = []
    threading.Thread(target=stop_once_loading, daemon=True).start()
    metrics = driver.run()
    assert stopped and time.monotonic() - stopped[0] < 2.5
    assert value(metrics, "http.reqs", "count") >= 50


def test_metric_kinds_units_and_windows(drive, value) -> None:
    metrics, _ = drive({"executor": "constant-vus", "vus": 2, "duration": "1s",
                        "requests": [{"name": "bytes", "path": "/bytes/1000"}]})
    assert isinstance(metrics, MetricSet)
    reqs = value(metrics, "http.reqs", "count")
    assert value(metrics, "data_received", "count") > reqs * 1000
    assert metrics.combined("data_received").unit == "B"
    assert metrics.combined("http.req_duration").unit == "ms"
    for metric in metrics:
        assert metric.tags["scenario"] == "load"
        assert metric.start is not None and metric.end is not None
        assert 0.9 < metric.end - metric.start < 2.0
