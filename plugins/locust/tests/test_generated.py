"""A locustfile generated from requests:/flows: means what it means for the http driver."""

from __future__ import annotations

from perfgate import Verdict


def test_requests_flows_checks_and_captures(run_locust, server):
    outcome = run_locust(
        {"users": 4, "duration": "3s", "workers": 1,
         "requests": [
             {"name": "flaky", "path": "/errors/1/4", "think_time": "10ms",
              "checks": {"status": 200, "json": {"error": False}}},
         ],
         "flows": [{"name": "sign-in", "steps": [
             {"name": "login", "method": "POST", "path": "/login", "json": {"user": "ann"},
              "capture": {"token": "token"}, "checks": {"status": 200}},
             {"name": "me", "path": "/me", "headers": {"Authorization": "Bearer ${token}"},
              "checks": {"status": 200, "json": {"user": "ann"}}},
         ]}]},
        targets={"errors": {"metric": "http.req_failed{name:flaky}", "target": "rate < 30%"}})
    result = outcome.result
    metrics = result.metric_set()
    paths = server.counters()["paths"]
    flaky = metrics.combined("http.req_failed", {"name": "flaky"})
    assert flaky.aggregate("count") == paths["/errors/1/4"]
    # the server fails exactly the first of every 4: 25% (give or take one at the end)
    failed = flaky.aggregate("passes")  # a rate's passes are its true samples: failures
    assert abs(failed - paths["/errors/1/4"] / 4) <= 1
    assert metrics.combined("http.req_failed", {"name": "me"}).aggregate("rate") == 0.0
    assert paths["/me"] == paths["/login"] > 0  # every flow got its token
    me_checks = metrics.combined("checks", {"name": "me"})
    assert me_checks.aggregate("rate") == 1.0
    assert me_checks.aggregate("count") == 2 * paths["/me"]
    flaky_checks = metrics.combined("checks", {"name": "flaky", "check": "status is 200"})
    assert flaky_checks.aggregate("fails") == failed
    iterations = metrics.combined("iterations").aggregate("count")
    assert iterations == paths["/errors/1/4"] + paths["/me"]
    assert {c.name: c.verdict for c in result.checks}["errors"] == Verdict.PASS
    assert any("HTTP 500" in note for note in result.notes)


def test_a_flow_that_cannot_capture_ends_failed(run_locust, server):
    outcome = run_locust(
        {"users": 1, "duration": "2s", "flows": [{"name": "broken", "steps": [
            {"name": "echo", "path": "/echo", "capture": {"id": "no.such.path"}},
            {"name": "item", "path": "/items/${id}"}]}]})
    metrics = outcome.result.metric_set()
    assert server.counters()["paths"].get("/items/x", 0) == 0
    assert "/echo" in server.counters()["paths"]
    assert metrics.combined("http.req_failed", {"name": "echo"}).aggregate("rate") == 1.0
    assert metrics.combined("iterations", {"error": "capture"}).aggregate("count") > 0
    assert metrics.combined("http.reqs", {"name": "item"}) is None
