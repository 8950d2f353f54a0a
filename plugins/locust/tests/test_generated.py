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
    # A request a user was killed in at the very end (failed, interrupted) may never have
    # reached the server.
    interrupted = sum(e["occurrences"] for e in result.details["load"]["locust"]["errors"]
                      if e["name"] == "flaky" and "interrupted" in e["error"])
    assert flaky.aggregate("count") - interrupted == paths["/errors/1/4"]
    # the server fails exactly the first of every 4: 25% (give or take one at the end)
    failed = flaky.aggregate("passes") - interrupted  # passes of a rate: failures
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


def test_failures_are_told_apart_by_status_in_every_report(run_locust, server):
    outcome = run_locust(
        {"users": 2, "duration": "2s", "workers": 1,
         "requests": [{"name": "missing", "path": "/status/404", "think_time": "10ms"},
                      {"name": "flaky", "path": "/errors/1/2", "think_time": "10ms"}]})
    paths = server.counters()["paths"]
    [scenario] = outcome.result.scenarios
    found = {(f["endpoint"], f["reason"]): f["count"] for f in scenario["failures"]}
    # A request a user was still waiting on when the load ended is failed as interrupted.
    cut = {endpoint: n for (endpoint, reason), n in found.items() if reason == "interrupted"}
    assert {key for key in found if key[1] != "interrupted"} == {("GET missing", "404"),
                                                                 ("GET flaky", "500")}
    missing = found[("GET missing", "404")]
    assert 0 < missing <= paths["/status/404"] <= missing + cut.get("GET missing", 0)
    # the server fails exactly the first of every 2 (give or take one at the end)
    answered = paths["/errors/1/2"] - cut.get("GET flaky", 0)
    assert abs(found[("GET flaky", "500")] - answered / 2) <= 1 + cut.get("GET flaky", 0)
    metrics = outcome.result.metric_set()
    flaky = metrics.combined("http.req_failed", {"name": "flaky"})
    assert paths["/errors/1/2"] - cut.get("GET flaky", 0) <= flaky.aggregate("count") \
        <= paths["/errors/1/2"] + cut.get("GET flaky", 0)  # no request counted twice
    assert flaky.aggregate("passes") == found[("GET flaky", "500")] + cut.get("GET flaky", 0)


def test_locust_failure_messages_become_a_status_or_an_error_kind():
    from perfgate_locust.results import failure_tags

    assert failure_tags("CatchResponseError('HTTP 503')") == {"status": "503",
                                                              "error": "http_5xx"}
    assert failure_tags("HTTPError('404 Client Error: NOT FOUND for url: /x')") == {
        "status": "404", "error": "http_4xx"}
    assert failure_tags("timeout('timed out')") == {"error": "timeout"}
    assert failure_tags("ConnectionRefusedError(111, 'Connection refused')") == {
        "error": "connect_refused"}
    assert failure_tags("CatchResponseError('capture: no value for id')") == {
        "error": "capture"}
    assert failure_tags("Interrupted('interrupted: no response yet when the load ended')") \
        == {"error": "interrupted"}
    assert failure_tags("wrong body") == {"error": "wrong body"}


def test_requests_still_waiting_when_the_users_stop_are_failed_requests(run_locust, server):
    # Every 10th request never answers: its user waits on it until graceful_stop is over,
    # then Locust kills it. Each one is a failed request, not a request that never was.
    outcome = run_locust({"users": 2, "duration": "2s", "workers": 1, "graceful_stop": "1s",
                          "timeout": "60s", "requests": [{"name": "hang", "path": "/hang/10"}]})
    metrics = outcome.result.metric_set()
    arrived = server.counters()["paths"]["/hang/10"]
    assert metrics.combined("http.reqs").aggregate("count") == arrived
    hung = arrived // 10
    assert hung >= 1
    assert metrics.combined("http.req_failed").aggregate("passes") == hung
    assert any("interrupted: no response yet when the load ended" in note
               for note in outcome.result.notes), outcome.result.notes
