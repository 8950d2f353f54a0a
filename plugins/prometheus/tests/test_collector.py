"""The ``prometheus`` collector against a real Prometheus scraping the real demo service while
perfgate loads it: the server's view agrees with the client's, and bad queries are clear errors.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import perfgate_aiohttp_api
import perfgate_prometheus
from demo_app.metrics import REQUEST_BUCKETS
from perfgate.testing import free_port, run_targets
from perfgate_prometheus.testing import PrometheusServer, requires, scrape_config

pytestmark = requires("prometheus")
PLUGINS = [perfgate_prometheus, perfgate_aiohttp_api]

DELAY_MS = 42  # /api/slow sleeps this long: the ground truth of both views
#: The client's time for a request is the service's plus what lies between them: the network,
#: the time a request waits in the service's socket before its event loop reads it, the load
#: generator's own delays. The run measures that overhead on /health, which the service
#: answers in microseconds, beside the slow requests; on a quiet machine it is about 1 ms.
#: Slack for the two being different requests:
SLACK_MS = 2.0
SLOW = 'demo_http_request_duration_seconds{kind}{{route="/api/slow"}}'
HEALTH = 'demo_http_request_duration_seconds{kind}{{route="/health"}}'


@pytest.fixture(scope="module")
def demo_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def prometheus(demo_port: int) -> Iterator[PrometheusServer]:
    """Prometheus scraping the demo's port every second (down until perfgate starts it)."""
    with PrometheusServer(scrape_config(("demo-app", [f"127.0.0.1:{demo_port}"]))) as server:
        server.wait_for_discovery("demo-app")
        yield server


def targets(demo_port: int, prometheus_url: str, queries: dict[str, Any],
            checks: dict[str, Any], vus: int = 10, duration: str = "6s") -> dict[str, Any]:
    return {
        "version": 1,
        "services": {"api": {"url": f"http://127.0.0.1:{demo_port}", "health": "/health",
                             "start": f"{sys.executable} -m demo_app --port {demo_port}",
                             "start_timeout": "30s"}},
        "scenarios": {"load": {"driver": "http", "service": "api", "executor": "constant-vus",
                               "vus": vus, "duration": duration,
                               "requests": [{"name": "slow", "path": f"/api/slow?ms={DELAY_MS}"},
                                            {"name": "control", "path": "/health"}]}},
        "collectors": {"prometheus": {"url": prometheus_url, "queries": queries}},
        "targets": checks,
    }


@pytest.fixture(scope="module")
def gate_run(demo_port, prometheus, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    histogram = "demo_http_request_duration_seconds"
    queries = {
        "server.p95": {"query": f"histogram_quantile(0.95, sum by (le) (increase("
                                f"{SLOW.format(kind='_bucket')}[$__range])))",
                       "unit": "ms", "scale": 1000},
        "server.avg": {"query": f"sum(increase({SLOW.format(kind='_sum')}[$__range])) / "
                                f"sum(increase({SLOW.format(kind='_count')}[$__range]))",
                       "unit": "ms", "scale": 1000},
        "server.control_avg": {
            "query": f"sum(increase({HEALTH.format(kind='_sum')}[$__range])) / "
                     f"sum(increase({HEALTH.format(kind='_count')}[$__range]))",
            "unit": "ms", "scale": 1000},
        "server.rps": {"query": f"sum(rate({histogram}_count[$__rate_interval]))",
                       "type": "range"},
    }
    checks = {
        "client-p95": {"metric": "http.req_duration{name:slow}", "target": "p(95) < 200ms"},
        "client-avg": {"metric": "http.req_duration{name:slow}", "target": "avg < 200ms"},
        "control-p95": {"metric": "http.req_duration{name:control}", "target": "p(95) < 200ms"},
        "control-avg": {"metric": "http.req_duration{name:control}", "target": "avg < 200ms"},
        "server-control-avg": {"metric": "server.control_avg", "target": "value < 200ms"},
        "server-p95": {"metric": "server.p95", "target": "value < 200ms"},
        "server-avg": {"metric": "server.avg", "target": "value < 200ms"},
        "server-rps": {"metric": "server.rps", "target": "max > 10"},
    }
    outcome = run_targets(targets(demo_port, prometheus.url, queries, checks),
                          output_dir=tmp_path_factory.mktemp("run"),
                          plugins=PLUGINS)
    return outcome


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def measured(outcome: Any, name: str) -> float:
    [check] = [c for c in outcome.result.checks if c.name == name]
    assert check.measured is not None, check.message
    return float(check.measured)


def test_the_gate_passes_with_both_views(gate_run):
    verdicts = {c.name: c.verdict.value for c in gate_run.result.checks if c.group == "targets"}
    assert set(verdicts.values()) == {"pass"}, gate_run.result.errors
    assert len(verdicts) == 8
    assert gate_run.exit_code == 0  # the driver's own health may warn on a busy machine


def test_the_servers_average_is_the_clients_less_the_known_overhead(gate_run):
    # _sum / _count is exact (no buckets): the service's own mean time per request.
    server, client = measured(gate_run, "server-avg"), measured(gate_run, "client-avg")
    assert DELAY_MS <= server < DELAY_MS + 5
    # the overhead of this run, measured on the control requests
    overhead = measured(gate_run, "control-avg") - measured(gate_run, "server-control-avg")
    assert 0 <= client - server <= overhead + SLACK_MS, (client, server, overhead)


def test_the_servers_p95_agrees_with_the_clients_within_its_bucket(gate_run):
    # histogram_quantile interpolates inside the bucket the 95th percentile falls in
    # (40-50 ms on a quiet machine): the client's p95 lies in that bucket, or above it by no
    # more than this run's overhead at its 95th percentile (the control requests' p95: the
    # service's part of them is microseconds).
    server, client = measured(gate_run, "server-p95"), measured(gate_run, "client-p95")
    i = bisect.bisect_left(REQUEST_BUCKETS, server / 1000)
    low, high = REQUEST_BUCKETS[i - 1] * 1000, REQUEST_BUCKETS[i] * 1000
    assert low >= DELAY_MS - 2 and high <= 100
    overhead = measured(gate_run, "control-p95")
    assert low <= client <= high + overhead + SLACK_MS, (client, server, overhead)


def test_range_queries_give_series_and_details_say_what_was_asked(gate_run):
    details = gate_run.result.details["prometheus"]
    assert details["scrape_interval"] == 1
    window = details["window"]
    assert window["start"] == pytest.approx(window["load_start"] - 1)
    assert window["end"] == pytest.approx(window["load_end"] + 2, abs=0.5)
    query = details["queries"]["server.p95"]["query"]
    assert "$__range" not in query and "[" in query and "ms]" in query
    assert details["queries"]["server.rps"]["series"][0]["values"] >= 2
    # 10 VUs, each alternating 42 ms and well under 1 ms requests: at most 470 a second
    assert 100 < measured(gate_run, "server-rps") < 480


def test_range_series_are_judged_over_each_scenarios_window(demo_port, prometheus, tmp_path,
                                                            monkeypatch):
    """Two scenarios one after the other, 2 and then 8 users always in a 200 ms request: the
    server's in-flight gauge, read by a range query, is cut by the core to each window."""
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    spec = targets(demo_port, prometheus.url, {
        "server.in_flight": {"query": "sum(demo_http_requests_in_flight)", "type": "range"},
        "server.slow_requests": {"query": "sum(increase(demo_http_request_duration_seconds_count"
                                          '{route="/api/slow"}[$__range]))'}}, {
        "quiet-in-flight": {"metric": "server.in_flight{scenario:quiet}", "target": "max < 1000"},
        "busy-in-flight": {"metric": "server.in_flight{scenario:busy}", "target": "max < 1000"},
        "run-in-flight": {"metric": "server.in_flight", "target": "max < 1000"},
        "quiet-requests": {"metric": "server.slow_requests{scenario:quiet}", "target": "value > 0"},
        "busy-requests": {"metric": "server.slow_requests{scenario:busy}", "target": "value > 0"},
        "all-requests": {"metric": "server.slow_requests", "target": "value > 0"},
    })
    load = spec["scenarios"].pop("load")
    requests = [{"name": "slow", "path": "/api/slow?ms=200"}]
    spec["scenarios"] = {
        "quiet": {**load, "vus": 2, "duration": "4s", "requests": requests},
        "busy": {**load, "vus": 8, "duration": "4s", "requests": requests, "after": "quiet"}}
    outcome = run_targets(spec, output_dir=tmp_path, plugins=PLUGINS)
    quiet, busy, run = (measured(outcome, f"{name}-in-flight") for name in ("quiet", "busy", "run"))
    # The gauge counts the scrape of /metrics too: a window's users, and one more.
    assert quiet <= 3 and 7 <= busy <= 9 and run == busy, (quiet, busy, run)
    # Each cut holds only points Prometheus evaluated inside its scenario's window (series
    # are kept per second: [second, count, ...]), and every point of the whole run's series
    # in a second wholly inside a window.
    windows = {s["name"]: (s["started"], s["finished"]) for s in outcome.result.scenarios}
    series = {m["tags"].get("scenario"): {int(row[0]): row[1] for row in m["series"]}
              for m in outcome.result.metrics if m["name"] == "server.in_flight"}
    assert set(series) == {None, "quiet", "busy"}
    whole = series.pop(None)
    for scenario, cut in series.items():
        start, end = windows[scenario]
        assert cut and all(int(start) <= second <= int(end) for second in cut), (cut, start)
        inside = {s: n for s, n in whole.items() if int(start) < s < int(end)}
        assert inside and all(cut[s] == n for s, n in inside.items()), (cut, inside)
        assert all(n <= whole[s] for s, n in cut.items())
    # An instant query judged over a scenario is evaluated over its window (a scrape interval
    # wider at each end): the server's count of the scenario's requests, give or take what
    # the other scenario sent in that second at the edge and increase()'s extrapolation.
    client = {name: outcome.result.metric_set().combined("http.reqs", {"scenario": name})
              for name in ("quiet", "busy")}
    counts = {name: client[name].aggregate("count") for name in client}
    rates = {name: client[name].aggregate("rate") for name in client}
    server = {name: measured(outcome, f"{name}-requests") for name in ("quiet", "busy")}
    other = {"quiet": "busy", "busy": "quiet"}
    for name in ("quiet", "busy"):
        low, high = 0.8 * counts[name], 1.25 * counts[name] + 1.5 * rates[other[name]]
        assert low <= server[name] <= high, (name, server, counts, rates)
    everything = measured(outcome, "all-requests")
    assert everything >= 0.8 * (counts["quiet"] + counts["busy"])
    assert everything > server["quiet"] + 0.5 * counts["busy"]  # the whole run's, not quiet's


def test_a_query_prometheus_refuses_is_an_error_verdict(demo_port, prometheus, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    queries = {"broken": {"query": "sum(rate(demo_http_request_duration_seconds_count[1m]"},
               "nothing": {"query": 'sum(demo_http_request_duration_seconds_count{route="/no"})'},
               "fine": {"query": "sum(demo_http_request_duration_seconds_count)"}}
    checks = {"broken": {"metric": "broken", "target": "value < 1"},
              "nothing": {"metric": "nothing", "target": "value < 1"},
              "fine": {"metric": "fine", "target": "value > 0"}}
    outcome = run_targets(targets(demo_port, prometheus.url, queries, checks, vus=1,
                                  duration="1s"), output_dir=tmp_path,
                          plugins=PLUGINS)
    checks_by_name = {c.name: c for c in outcome.result.checks}
    assert checks_by_name["fine"].verdict.value == "pass"
    broken, nothing = checks_by_name["broken"], checks_by_name["nothing"]
    assert broken.verdict.value == nothing.verdict.value == "error"
    assert "Prometheus refused the query: bad_data:" in broken.message
    assert "parse error" in broken.message
    assert "the query returned no series" in nothing.message
    assert outcome.exit_code == 3


def test_an_unreachable_prometheus_breaks_only_its_checks(demo_port, tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    url = f"http://127.0.0.1:{free_port()}"
    outcome = run_targets(targets(demo_port, url, {"server.p95": {"query": "up"}},
                                  {"server": {"metric": "server.p95", "target": "value < 1"},
                                   "client": {"metric": "http.req_duration",
                                              "target": "p(95) < 1s"}}, vus=1, duration="1s"),
                          output_dir=tmp_path, plugins=PLUGINS)
    verdicts = {c.name: (c.verdict.value, c.message) for c in outcome.result.checks}
    assert verdicts["client"][0] == "pass"
    assert verdicts["server"][0] == "error"
    assert f"cannot use Prometheus at {url}: ConnectError" in verdicts["server"][1]
