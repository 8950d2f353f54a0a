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
    assert browser_arrivals[0] < http["started"] < http["finished"] < browser_arrivals[-1]
