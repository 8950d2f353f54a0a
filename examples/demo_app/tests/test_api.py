"""Every endpoint of the running demo service, with exact expectations."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest


def test_health_reports_status_and_cache(demo):
    reply = demo.get("/health")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    health = reply.json()
    assert health["status"] == "ok"
    assert health["version"] == "0.1.0"
    assert health["cache"] == {"hits": 0, "misses": 0, "entries": 0, "hit_rate": 0.0}


def test_record_list_pages_through_the_seeded_records(demo):
    first = demo.get("/api/records?limit=10").json()
    assert [r["id"] for r in first["items"]] == list(range(1, 11))
    assert first["items"][0]["name"] == "record 1"
    assert first["items"][0]["value"] == 1.5
    assert (first["total"], first["limit"], first["offset"]) == (25, 10, 0)
    assert first["next"] == "/api/records?limit=10&offset=10"

    last = demo.get("/api/records?limit=10&offset=20").json()
    assert [r["id"] for r in last["items"]] == list(range(21, 26))
    assert last["next"] is None

    default = demo.get("/api/records").json()
    assert (len(default["items"]), default["limit"], default["offset"]) == (20, 20, 0)
    assert demo.get("/api/records?offset=100").json()["items"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "offset=-1"])
def test_record_list_rejects_bad_paging(demo, query):
    reply = demo.get(f"/api/records?{query}")
    assert reply.status == 400
    assert "must be" in reply.json()["error"]


def test_records_crud(demo):
    created = demo.call("POST", "/api/records", {"name": "widget", "value": 7})
    assert created.status == 201
    record = created.json()
    assert record["id"] == 26
    assert (record["name"], record["value"]) == ("widget", 7.0)
    assert created.headers["Location"] == "/api/records/26"
    assert demo.get("/api/records/26").json() == record
    assert demo.get("/api/records?limit=1").json()["total"] == 26

    updated = demo.call("PUT", "/api/records/26", {"name": "gadget", "value": -2.5})
    assert updated.status == 200
    assert updated.json()["name"] == "gadget"
    assert updated.json()["created_at"] == record["created_at"]
    assert demo.get("/api/records/26").json()["value"] == -2.5  # the cache was invalidated
    assert demo.get("/api/records?limit=1&offset=25").json()["items"][0]["name"] == "gadget"

    assert demo.call("DELETE", "/api/records/26").status == 204
    assert demo.get("/api/records/26").status == 404
    assert demo.call("DELETE", "/api/records/26").status == 404
    assert demo.call("PUT", "/api/records/26", {"name": "x", "value": 1}).status == 404
    assert demo.get("/api/records?limit=1").json()["total"] == 25
    assert demo.get("/api/records/abc").status == 404


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "x"}, "'value' must be a number"),
    ({"name": "x", "value": True}, "'value' must be a number"),
    ({"name": " ", "value": 1}, "'name' must be a non-empty string"),
    ({"name": "x" * 201, "value": 1}, "longer than 200"),
    ({"name": "x", "value": 1, "colour": "red"}, "unknown field(s): colour"),
    ([1, 2], "expected a JSON object"),
])
def test_invalid_records_are_rejected(demo, body, message):
    for method, path in [("POST", "/api/records"), ("PUT", "/api/records/1")]:
        reply = demo.call(method, path, body)
        assert reply.status == 400
        assert message in reply.json()["error"]
    reply = demo.call("POST", "/api/records", raw=b"{not json")
    assert reply.status == 400
    assert reply.json()["error"] == "the request body is not valid JSON"
    assert demo.get("/api/records?limit=1").json()["total"] == 25


def _cache(demo):
    m = demo.metrics()
    return {name: (int(m[f'demo_cache_hits_total{{cache="{name}"}}']),
                   int(m[f'demo_cache_misses_total{{cache="{name}"}}']))
            for name in ("records", "pages")}


def test_cache_counts_a_known_sequence_of_reads_exactly(demo):
    assert [demo.get("/api/records/1").headers["X-Cache"] for _ in range(3)] == \
        ["MISS", "HIT", "HIT"]
    assert [demo.get("/api/records?limit=5").headers["X-Cache"] for _ in range(2)] == \
        ["MISS", "HIT"]
    assert demo.get("/api/records?limit=5&offset=5").headers["X-Cache"] == "MISS"
    assert _cache(demo) == {"records": (2, 1), "pages": (1, 2)}

    # A missing record is a miss every time and is not cached.
    assert [demo.get("/api/records/999").status for _ in range(2)] == [404, 404]
    assert _cache(demo) == {"records": (2, 3), "pages": (1, 2)}

    # A write drops the record's entry and every cached page.
    demo.call("PUT", "/api/records/1", {"name": "changed", "value": 0})
    assert demo.get("/api/records/1").headers["X-Cache"] == "MISS"
    assert demo.get("/api/records/1").json()["name"] == "changed"
    assert demo.get("/api/records?limit=5").headers["X-Cache"] == "MISS"
    demo.call("POST", "/api/records", {"name": "new", "value": 1})
    assert demo.get("/api/records/1").headers["X-Cache"] == "HIT"  # other records stay
    assert demo.get("/api/records?limit=5").headers["X-Cache"] == "MISS"
    assert _cache(demo) == {"records": (4, 4), "pages": (1, 4)}

    health = demo.get("/health").json()["cache"]
    assert (health["hits"], health["misses"]) == (5, 8)
    assert health["hit_rate"] == round(5 / 13, 4)
    assert health["entries"] == 2  # record 1 and the limit=5 page


def test_cache_entries_expire_after_the_ttl(start_demo):
    demo = start_demo("--seed", "3", "--cache-ttl", "0.3")
    assert [demo.get("/api/records/2").headers["X-Cache"] for _ in range(2)] == ["MISS", "HIT"]
    time.sleep(0.45)
    assert demo.get("/api/records/2").headers["X-Cache"] == "MISS"
    assert _cache(demo)["records"] == (1, 2)


def test_cache_ttl_zero_disables_the_cache(start_demo):
    demo = start_demo("--seed", "3", "--cache-ttl", "0")
    assert [demo.get("/api/records/2").headers["X-Cache"] for _ in range(3)] == ["MISS"] * 3
    assert demo.get("/health").json()["cache"]["entries"] == 0


def test_slow_endpoint_answers_after_the_requested_delay(demo):
    for ms in (0, 150, 300):
        started = time.perf_counter()
        reply = demo.get(f"/api/slow?ms={ms}")
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert reply.status == 200
        assert reply.json() == {"slept_ms": ms}
        assert ms <= elapsed_ms < ms + 100
    assert demo.get("/api/slow?ms=-1").status == 400
    assert demo.get("/api/slow?ms=60001").status == 400
    assert demo.get("/api/slow?ms=soon").status == 400


def test_slow_requests_wait_concurrently(demo):
    started = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda _: demo.get("/api/slow?ms=400").status, range(10)))
    assert statuses == [200] * 10
    assert time.perf_counter() - started < 0.4 * 2  # not one after another


def _flaky_statuses(demo, query, n):
    return [demo.get(f"/api/flaky?{query}").status for _ in range(n)]


def test_flaky_endpoint_fails_an_exact_evenly_spread_fraction(demo):
    statuses = _flaky_statuses(demo, "fail=10", 200)
    failed = [i + 1 for i, s in enumerate(statuses) if s != 200]
    assert failed == list(range(10, 201, 10))
    assert set(statuses) == {200, 500}

    assert _flaky_statuses(demo, "fail=2.5%", 80).count(500) == 2
    assert _flaky_statuses(demo, "fail=0", 50) == [200] * 50
    assert _flaky_statuses(demo, "fail=100&status=503", 7) == [503] * 7
    # Each percentage counts its own calls: fail=10 continues where it stopped.
    assert _flaky_statuses(demo, "fail=10", 10).count(500) == 1
    reply = demo.get("/api/flaky?fail=100")
    assert reply.json() == {"error": "injected failure"}
    assert demo.get("/api/flaky?fail=150").status == 400
    assert demo.get("/api/flaky?fail=x").status == 400
    assert demo.get("/api/flaky?status=200").status == 400


def test_flaky_failure_count_is_exact_under_concurrency(demo):
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: demo.get("/api/flaky?fail=25").status, range(400)))
    assert statuses.count(500) == 100
    assert statuses.count(200) == 300


def test_login_token_identifies_the_user(demo):
    assert demo.call("POST", "/api/login", {"username": "ann", "password": "wrong"}).status \
        == 401
    assert demo.call("POST", "/api/login", {"username": "ann"}).status == 400
    assert demo.call("POST", "/api/login", raw=b"[").status == 400

    reply = demo.call("POST", "/api/login", {"username": "ann", "password": "demo"})
    assert reply.status == 200
    login = reply.json()
    assert (login["user"], login["token_type"]) == ("ann", "Bearer")
    assert len(login["token"]) >= 32

    me = demo.get("/api/me", headers={"Authorization": f"Bearer {login['token']}"})
    assert (me.status, me.json()) == (200, {"user": "ann"})

    other = demo.call("POST", "/api/login", {"username": "bob", "password": "demo"}).json()
    assert other["token"] != login["token"]
    assert demo.get("/api/me", headers={"Authorization": f"bearer {other['token']}"}).json() \
        == {"user": "bob"}

    anonymous = demo.get("/api/me")
    assert anonymous.status == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert demo.get("/api/me", headers={"Authorization": "Bearer forged"}).status == 401
    assert demo.get("/api/me", headers={"Authorization": login["token"]}).status == 401
    assert demo.metrics()["demo_logins_total"] == 2


def test_frontend_page_and_its_assets(demo):
    page = demo.get("/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.body.decode()
    assert '<html lang="en">' in html
    assert '<link rel="stylesheet" href="/static/app.css">' in html
    assert '<script src="/static/app.js" defer></script>' in html

    script = demo.get("/static/app.js")
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    for call in ("/health", "/api/records?limit=", '"/api/records"', "/api/records/${id}"):
        assert call in script.body.decode()
    css = demo.get("/static/app.css")
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["Cache-Control"] == "public, max-age=3600"
    assert demo.get("/static/missing.js").status == 404


def test_metrics_count_requests_by_route_and_status(demo):
    for _ in range(3):
        demo.get("/health")
    demo.get("/api/records/1")
    demo.get("/api/records/999")
    demo.get("/nowhere")
    demo.call("POST", "/api/records", {"name": "x", "value": 1})
    m = demo.metrics()
    count = "demo_http_request_duration_seconds_count"
    counted = {k: int(v) for k, v in m.items() if k.startswith(count)}
    assert counted == {
        f'{count}{{method="GET",route="/health",status="200"}}': 3,
        f'{count}{{method="GET",route="/api/records/{{id}}",status="200"}}': 1,
        f'{count}{{method="GET",route="/api/records/{{id}}",status="404"}}': 1,
        f'{count}{{method="GET",route="unmatched",status="404"}}': 1,
        f'{count}{{method="POST",route="/api/records",status="201"}}': 1,
    }
    assert m["demo_records"] == 26
