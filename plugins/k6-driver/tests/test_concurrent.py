"""A k6 scenario and an http scenario at once, against the ground-truth server."""

from __future__ import annotations

import importlib.util

import pytest

from perfgate import MetricSet
from perfgate.testing import run_targets

SCRIPT = """
import http from 'k6/http';

export default function () {
  http.get(`${__ENV.BASE_URL}/delay/50`, { tags: { name: 'k6-delay' } });
}
"""


def test_k6_and_http_scenarios_run_together(server, script, tmp_path) -> None:
    if importlib.util.find_spec("perfgate_aiohttp_api") is None:
        pytest.skip("the http driver (perfgate-aiohttp-api) is not installed")
    server.reset()
    outcome = run_targets({
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {
            "browser": {"driver": "k6", "service": "gt", "script": str(script(SCRIPT)),
                        "vus": 2, "duration": "3s"},
            "api": {"driver": "http", "service": "gt", "executor": "constant-vus", "vus": 2,
                    "duration": "2s", "start_time": "500ms",
                    "requests": [{"name": "http-delay", "path": "/delay/20"}]},
        },
        "targets": {
            "k6-latency": {"metric": "http.req_duration{scenario:browser}",
                           "critical": "p(95) < 1s"},
            "http-latency": {"metric": "http.req_duration{scenario:api}",
                             "critical": "p(95) < 1s"},
        },
    }, output_dir=tmp_path)
    result = outcome.result
    assert outcome.exit_code == 0, (result.errors, [(c.name, c.message) for c in result.checks])
    s = {doc["name"]: doc for doc in result.scenarios}
    k6, http = s["browser"], s["api"]
    assert http["started"] - k6["started"] == pytest.approx(0.5, abs=0.1)
    assert http["finished"] < k6["finished"]  # the http scenario ran inside k6's
    metrics = MetricSet.from_list(result.metrics)
    paths = server.counters()["paths"]
    k6_reqs = metrics.combined("http.reqs", {"scenario": "browser"}).aggregate("count")
    http_reqs = metrics.combined("http.reqs", {"scenario": "api"}).aggregate("count")
    assert k6_reqs == paths["/delay/50"] > 40  # 2 VUs for 3 s at about 50 ms a request
    assert http_reqs == paths["/delay/20"] > 80  # 2 VUs for 2 s at about 20 ms a request
    # Each scenario's requests fell inside its own window, as the server saw them.
    browser_arrivals, api_arrivals = server.arrivals("/delay/50"), server.arrivals("/delay/20")
    assert http["started"] <= api_arrivals[0] and api_arrivals[-1] <= http["finished"]
    # ...and k6 sent requests while the http scenario ran (k6 itself may take more than the
    # 500 ms of start_time to send its first one on a busy machine).
    during = [t for t in browser_arrivals if http["started"] <= t <= http["finished"]]
    assert len(during) > 10 and http["finished"] < browser_arrivals[-1]


# Paced, so that the fast first 2 s hold a bounded number of requests on any machine: the
# p95 crosses 100 ms about a second after the server turns slow, not later on a faster box.
SLOWING = """
import http from 'k6/http';
import { sleep } from 'k6';

export default function () {
  http.get(`${__ENV.BASE_URL}/slow-after/2/300`, { tags: { name: 'slowing' } });
  sleep(0.05);
}
"""


def test_abort_on_fail_on_a_k6_scenario_stops_it_and_the_http_one(server, script,
                                                                   tmp_path) -> None:
    if importlib.util.find_spec("perfgate_aiohttp_api") is None:
        pytest.skip("the http driver (perfgate-aiohttp-api) is not installed")
    server.reset()
    outcome = run_targets({
        "version": 1,
        "services": {"gt": {"url": server.url}},
        "scenarios": {
            "browser": {"driver": "k6", "service": "gt", "script": str(script(SLOWING)),
                        "vus": 5, "duration": "30s"},
            "api": {"driver": "http", "service": "gt", "executor": "constant-vus", "vus": 1,
                    "duration": "30s", "requests": [{"name": "beside", "path": "/delay/20"}]},
        },
        "targets": {
            "k6-latency": {"metric": "http.req_duration{scenario:browser}",
                           "critical": "p(95) < 100ms", "abort_on_fail": True},
        },
    }, output_dir=tmp_path)
    result = outcome.result
    assert outcome.exit_code == 1, (result.errors, [(c.name, c.message) for c in result.checks])
    aborted = result.run["aborted"]
    assert (result.run["status"], aborted["check"]) == ("aborted", "k6-latency")
    s = {doc["name"]: doc for doc in result.scenarios}
    assert (s["browser"]["status"], s["api"]["status"]) == ("aborted", "aborted")
    # k6 writes its samples about once a second, and is given its stop_timeout to end.
    slow_from = server.arrivals("/slow-after/2/300")[0] + 2.0
    assert slow_from < aborted["at"] < slow_from + 8.0
    assert s["api"]["finished"] - aborted["at"] < 1.5
    assert s["browser"]["finished"] - aborted["at"] < 4.0
    assert result.run["duration"] < 20
    # What both measured is kept: every request the server saw.
    metrics = MetricSet.from_list(result.metrics)
    paths = server.counters()["paths"]
    assert metrics.combined("http.reqs", {"scenario": "browser"}).aggregate("count") == \
        paths["/slow-after/2/300"]
    assert metrics.combined("http.reqs", {"scenario": "api"}).aggregate("count") == \
        paths["/delay/20"]
