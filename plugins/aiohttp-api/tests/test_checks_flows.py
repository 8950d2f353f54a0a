"""Checks, flows with captures, and what a request can carry."""

from __future__ import annotations

import json


def test_checks_are_counted_like_k6(drive, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 2, "iterations": 10,
                        "requests": [
                            {"name": "flaky", "path": "/errors/1/2",
                             "checks": {"status": 200, "json": {"error": False}}},
                            {"name": "slow", "path": "/delay/30",
                             "checks": {"max_duration": "5ms", "body_contains": "delay_ms"}},
                        ]})
    assert value(metrics, "checks", "count") == 40
    assert value(metrics, "checks", "rate", {"name": "flaky"}) == 0.5
    assert value(metrics, "checks", "rate", {"check": "status is 200"}) == 0.5
    assert value(metrics, "checks", "rate", {"check": "json error == False"}) == 0.5
    assert value(metrics, "checks", "rate", {"check": "duration <= 5ms"}) == 0.0
    assert value(metrics, "checks", "rate", {"check": "body contains 'delay_ms'"}) == 1.0


def test_flow_captures_a_token_and_an_id(drive, value, server) -> None:
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 3, "iterations": 4,
        "flows": [{"name": "shop", "steps": [
            {"name": "login", "method": "POST", "path": "/login", "json": {"user": "ann"},
             "capture": {"token": "token"}},
            {"name": "me", "path": "/me", "headers": {"Authorization": "Bearer ${token}"},
             "checks": {"status": 200, "json": {"user": "ann"}}},
            {"name": "create", "method": "POST", "path": "/items",
             "json": {"name": "pen-${token}"}, "capture": {"id": "$.id"},
             "checks": {"status": 201}},
            {"name": "read", "path": "/items/${id}", "checks": {"status": 200}},
        ]}]})
    assert value(metrics, "iterations", "count") == 12
    assert value(metrics, "http.reqs", "count") == 48 == server.counters()["total"]
    assert value(metrics, "checks", "rate") == 1.0
    assert value(metrics, "http.req_failed", "rate") == 0.0
    assert value(metrics, "http.reqs", "count", {"name": "read"}) == 12
    assert [m.tags for m in metrics.select("iterations")] == [{"scenario": "load"}]


def test_a_missing_capture_ends_the_flow(drive, value, server) -> None:
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 1, "iterations": 2,
        "flows": [{"name": "broken", "steps": [
            {"name": "first", "path": "/health", "capture": {"id": "id"}},
            {"name": "second", "path": "/items/${id}"},
        ]}]})
    assert server.counters()["total"] == 2  # only the first step was sent
    assert value(metrics, "iterations", "count") == 2
    assert value(metrics, "iterations", "count", {"error": "capture"}) == 2
    assert metrics.combined("http.reqs", {"name": "second"}) is None


def test_a_failed_capture_is_a_failed_request(drive, value, server) -> None:
    # /items answers 201 with {"id": ...}: $.nope.id is not in it
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 2, "iterations": 3,
        "flows": [{"name": "shop", "steps": [
            {"name": "create", "method": "POST", "path": "/items", "json": {"name": "pen"},
             "capture": {"id": "$.nope.id"}, "checks": {"status": 201}},
            {"name": "read", "path": "/items/${id}", "checks": {"status": 200}},
        ]}]})
    counted = server.counters()
    assert counted["total"] == 6 and counted["failed"] == 0  # the server saw 6 good creates
    assert value(metrics, "http.reqs", "count") == 6
    assert value(metrics, "http.req_failed", "rate") == 1.0
    tags = {"name": "create", "status": "201", "error": "capture"}
    assert value(metrics, "http.reqs", "count", tags) == 6
    assert value(metrics, "checks", "rate", {"check": "status is 201"}) == 1.0
    assert metrics.combined("http.reqs", {"name": "read"}) is None
    assert value(metrics, "iterations", "count", {"error": "capture"}) == 6
    assert value(metrics, "iterations", "count") == 6  # every one ended at the capture


def test_a_capture_from_a_failed_response_keeps_its_error(drive, value, server) -> None:
    # /errors/1/2 answers 500, 200, 500, 200: neither has "ok"; a 500 stays an http_5xx
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 1, "iterations": 4,
        "flows": [{"name": "flaky", "steps": [
            {"name": "first", "path": "/errors/1/2", "capture": {"ok": "$.ok"}},
            {"name": "second", "path": "/items/${ok}"},
        ]}]})
    assert server.counters()["total"] == 4  # the second step was never sent
    assert value(metrics, "http.reqs", "count", {"error": "http_5xx", "status": "500"}) == 2
    assert value(metrics, "http.reqs", "count", {"error": "capture", "status": "200"}) == 2
    assert value(metrics, "http.req_failed", "rate") == 1.0
    assert value(metrics, "iterations", "count", {"error": "http_5xx"}) == 2
    assert value(metrics, "iterations", "count", {"error": "capture"}) == 2
    assert value(metrics, "iterations", "count") == 4


def test_method_headers_query_and_body_are_sent(drive, server) -> None:
    # the echo endpoint answers with what it got; checks assert on it
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 1, "iterations": 1,
        "requests": [{"name": "echo", "method": "put", "path": "/echo",
                      "headers": {"X-Test": "yes"}, "query": {"a": 1, "b": ["x", "y"]},
                      "body": "raw text",
                      "checks": {"json": {"method": "PUT", "query.a": "1",
                                          "headers.X-Test": "yes", "body": "raw text"}}},
                     ]})
    rate = metrics.combined("checks").aggregate("rate")
    assert rate == 1.0, [(m.tags["check"], m.values()) for m in metrics.select("checks")]
    metrics, _ = drive({
        "executor": "per-vu-iterations", "vus": 1, "iterations": 1,
        "requests": [{"name": "json", "method": "POST", "path": "/echo",
                      "json": {"k": [1, 2]},
                      "checks": {"json": {"body": json.dumps({"k": [1, 2]},
                                                             separators=(",", ":")),
                                          "headers.Content-Type": "application/json"}}}]})
    assert metrics.combined("checks").aggregate("rate") == 1.0


def test_head_requests_end_at_the_headers(drive, value) -> None:
    metrics, _ = drive({"executor": "per-vu-iterations", "vus": 1, "iterations": 5,
                        "timeout": "2s", "requests": [{"method": "HEAD", "path": "/bytes/500"},
                                                      {"path": "/health"}]})
    assert value(metrics, "http.reqs", "count", {"status": "200"}) == 5
    assert value(metrics, "http.req_failed", "rate") == 0.0


def test_counting_checks_agrees_with_evaluating_them() -> None:
    from perfgate import MISSING, RequestChecks
    from perfgate_aiohttp_api.checks import CompiledChecks

    checks = CompiledChecks.build(RequestChecks.model_validate(
        {"status": [200, 201], "body_contains": "ok", "max_duration": "5ms",
         "json": {"user.name": "ann", "items[1]": 2}}))
    cases = [(200, True, {"user": {"name": "ann"}, "items": [1, 2]}, 4000),
             (201, False, {"user": {"name": "bob"}, "items": [1]}, 6000),
             (500, True, MISSING, 10), ("timeout", False, MISSING, 9000),
             (200, True, ["not", "an", "object"], 5000)]
    counts = [[0, 0] for _ in checks.names]
    expected = [[0, 0] for _ in checks.names]
    for status, contains, doc, duration in cases:
        checks.count(counts, status, contains, doc, duration)
        for pair, ok in zip(expected, checks.evaluate(status, contains, doc, duration),
                            strict=True):
            pair[0] += ok
            pair[1] += 1
    assert counts == expected
    assert [p for p, _ in counts] == [3, 3, 1, 1, 3]
