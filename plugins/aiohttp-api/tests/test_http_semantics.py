"""Redirects, cookies, compression, bodies, auth and connections, against a real server
(examples/login-cookie/server.py) that counts what it saw: the driver's numbers are held
against the server's own."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from perfgate import MetricSet
from perfgate_aiohttp_api import HttpDriver, HttpScenario

REPO = Path(__file__).resolve().parents[3]
SERVER = REPO / "examples" / "login-cookie" / "server.py"


def load_server_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("login_cookie_server", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Site:
    """The example server on a free port, in a thread of this process."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.server = load_server_module().Server(0, host)
        self.host = host
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def counts(self) -> dict[str, Any]:
        return self.server.counts.snapshot()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.server.counts.reset()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def run(site: Site, make_context: Callable[..., Any]) -> Callable[..., MetricSet]:
    """``run({...scenario...})``: the http driver against the site; returns its metrics."""

    def go(scenario: dict[str, Any], allow_hosts: list[str] | None = None,
           context: dict[str, Any] | None = None) -> MetricSet:
        scenario = {"driver": "http", "service": "site", "executor": "per-vu-iterations",
                    "vus": 1, "iterations": 1, **scenario}
        cfg = HttpScenario.model_validate(scenario, context=context)
        ctx = make_context({"site": site.url}, allow_hosts=allow_hosts)
        return HttpDriver(cfg, ctx, "load").run()

    site.reset()
    return go


def count(metrics: MetricSet, name: str, tags: dict[str, str] | None = None) -> float:
    metric = metrics.combined(name, tags)
    return 0.0 if metric is None else float(metric.aggregate("count"))


def rate(metrics: MetricSet, name: str, tags: dict[str, str] | None = None) -> float:
    metric = metrics.combined(name, tags)
    assert metric is not None, f"{name}{tags or ''} was not measured"
    return float(metric.aggregate("rate"))


# -- redirects -------------------------------------------------------------------------------

def test_redirects_are_followed_and_each_hop_counted(run, site) -> None:
    metrics = run({"vus": 2, "iterations": 3, "requests": [
        {"name": "chain", "path": "/redirect/3", "checks": {"status": 200,
                                                            "json": {"hops": "done"}}}]})
    hits = site.counts()["hits"]
    assert [hits[f"/redirect/{n}"] for n in (3, 2, 1, 0)] == [6, 6, 6, 6]
    # as k6: every hop is a request of its own, with its own status
    assert count(metrics, "http.reqs", {"name": "chain"}) == 24 == sum(hits.values())
    assert count(metrics, "http.reqs", {"status": "302"}) == 18
    assert count(metrics, "http.reqs", {"status": "200"}) == 6
    assert rate(metrics, "checks") == 1.0  # the checks saw the final response
    assert rate(metrics, "http.req_failed") == 0.0
    assert count(metrics, "iterations") == 6


def test_max_redirects_stops_the_chain_and_zero_turns_it_off(run, site) -> None:
    metrics = run({"max_redirects": 2, "requests": [
        {"name": "two", "path": "/redirect/5", "checks": {"status": 302}},
        {"name": "none", "path": "/redirect/1", "max_redirects": 0,
         "checks": {"status": 302}}], "iterations": 2})
    hits = site.counts()["hits"]
    assert hits == {"/redirect/5": 1, "/redirect/4": 1, "/redirect/3": 1, "/redirect/1": 1}
    assert count(metrics, "http.reqs", {"name": "two"}) == 3
    assert count(metrics, "http.reqs", {"name": "none"}) == 1
    assert rate(metrics, "checks") == 1.0  # the last response is the request's: a 302


def test_a_redirect_to_a_host_not_allowed_is_refused_before_sending(run, site) -> None:
    metrics = run({"iterations": 3, "requests": [
        {"name": "away", "path": "/redirect-to", "query": {"url": "http://example.com/x"}}]})
    assert site.counts()["hits"] == {"/redirect-to": 3}
    assert count(metrics, "http.reqs", {"error": "not_allowed"}) == 3
    assert count(metrics, "http.reqs", {"status": "302"}) == 3
    # one connection, to the site: none was opened to example.com
    assert count(metrics, "http.req_connecting") == 1


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent: only a route is chosen
            address = str(s.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_a_redirect_to_a_listening_host_not_allowed_gets_nothing(run, site) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address outside loopback")
    outside = Site(address)
    try:
        metrics = run({"iterations": 2, "requests": [
            {"name": "away", "path": "/redirect-to",
             "query": {"url": f"{outside.url}/health"}}]})
        assert outside.counts()["hits"] == {}  # the server there saw nothing at all
        assert count(metrics, "http.reqs", {"error": "not_allowed"}) == 2
    finally:
        outside.close()


def test_a_redirect_to_https_speaks_tls(run, site) -> None:
    # the site speaks plain HTTP only: the hop's TLS handshake fails, and no plain request
    # went there in its place
    metrics = run({"iterations": 2, "requests": [
        {"name": "up", "path": "/redirect-to",
         "query": {"url": f"https://127.0.0.1:{site.port}/health"}}]})
    assert site.counts()["hits"] == {"/redirect-to": 2}
    assert count(metrics, "http.reqs", {"error": "tls"}) == 2


def test_303_turns_a_post_into_a_get_and_307_keeps_it(run, site) -> None:
    metrics = run({"requests": [
        {"name": "see-other", "method": "POST", "path": "/redirect-to",
         "query": {"url": "/echo", "status": 303}, "body": "abc",
         "checks": {"json": {"method": "GET", "body_length": 0}}},
        {"name": "found", "method": "POST", "path": "/redirect-to",
         "query": {"url": "/echo", "status": 302}, "body": "abc",
         "checks": {"json": {"method": "GET", "body_length": 0}}},
        {"name": "temporary", "method": "POST", "path": "/redirect-to",
         "query": {"url": "/echo", "status": 307}, "body": "abc",
         "checks": {"json": {"method": "POST", "body": "abc"}}},
        {"name": "permanent", "method": "PUT", "path": "/redirect-to",
         "query": {"url": "/echo", "status": 308}, "body": "xyz",
         "checks": {"json": {"method": "PUT", "body": "xyz"}}},
    ], "iterations": 4})
    assert rate(metrics, "checks") == 1.0
    methods = site.counts()["methods"]
    assert methods["GET /echo"] == 2 and methods["POST /echo"] == 1
    assert methods["PUT /echo"] == 1


# -- cookies ---------------------------------------------------------------------------------

def test_a_login_flow_keeps_its_session_cookie(run, site) -> None:
    metrics = run({"vus": 3, "iterations": 4, "flows": [{"name": "signed-in", "steps": [
        {"name": "login", "method": "POST", "path": "/login",
         "form": {"user": "ann", "password": "wonderland"}, "checks": {"status": 200}},
        {"name": "me", "path": "/me", "checks": {"status": 200, "json": {"user": "ann"}}},
        {"name": "logout", "method": "POST", "path": "/logout"},
        {"name": "me-again", "path": "/me", "checks": {"status": 401}},
    ]}]})
    counts = site.counts()
    assert rate(metrics, "checks") == 1.0
    assert counts["hits"]["/me"] == 24
    assert counts["sessions"] == 12  # a login per iteration
    # each session cookie was sent once to /me and once to /logout, then deleted
    assert sum(n for c, n in counts["cookies"].items() if c.startswith("session=")) == 24


def test_the_jar_is_emptied_each_iteration_or_kept(run, site) -> None:
    flow = {"name": "f", "steps": [{"name": "who", "path": "/me"},
                                   {"name": "in", "method": "POST", "path": "/login",
                                    "form": {"user": "bob", "password": "builder"}}]}
    metrics = run({"iterations": 3, "flows": [flow]})
    assert count(metrics, "http.reqs", {"name": "who", "status": "401"}) == 3
    metrics = run({"iterations": 3, "flows": [flow], "cookie_jar": "keep"})
    assert count(metrics, "http.reqs", {"name": "who", "status": "401"}) == 1
    assert count(metrics, "http.reqs", {"name": "who", "status": "200"}) == 2
    metrics = run({"iterations": 2, "cookie_jar": "off", "flows": [{"name": "f", "steps": [
        flow["steps"][1], {"name": "me", "path": "/me"}]}]})  # type: ignore[index]
    assert count(metrics, "http.reqs", {"name": "me", "status": "401"}) == 2


def test_the_jar_honours_path_expiry_secure_and_domain(run, site) -> None:
    run({"flows": [{"name": "f", "steps": [
        {"name": "set", "path": "/set-cookies"},
        {"name": "root", "path": "/cookies"},
        {"name": "scoped", "path": "/cookies/scoped/x"},
    ]}]})
    received = site.counts()["cookies"]
    # plain, brief and strict go everywhere; scoped only under its path; secure never over
    # http; the expired ones and another domain's never
    assert received == {"plain=1": 2, "brief=6": 2, "strict=7": 2, "scoped=2": 1}


def test_a_cookie_that_came_on_a_redirect_is_sent_after_it(run, site) -> None:
    metrics = run({"iterations": 2, "requests": [
        {"name": "login-then-me", "method": "POST", "path": "/login",
         "query": {"next": "/me"}, "json": {"user": "ann", "password": "wonderland"},
         "checks": {"status": 200, "json": {"user": "ann"}}}]})
    assert rate(metrics, "checks") == 1.0
    assert site.counts()["methods"]["GET /me"] == 2


def test_request_cookies_go_along_a_redirect_on_the_same_host(run, site) -> None:
    metrics = run({"iterations": 2, "requests": [
        {"name": "r", "path": "/redirect-to", "query": {"url": "/cookies"},
         "cookies": {"theme": "dark"}, "checks": {"json": {"cookies.theme": "dark"}}}]})
    assert rate(metrics, "checks") == 1.0
    assert site.counts()["cookies"] == {"theme=dark": 4}  # both hops, both iterations


def test_request_cookies_and_captures_from_headers_and_cookies(run, site) -> None:
    metrics = run({"iterations": 2, "flows": [{"name": "f", "steps": [
        {"name": "token", "path": "/token", "capture": {"tok": "header:X-Token"}},
        {"name": "login", "method": "POST", "path": "/login",
         "json": {"user": "ann", "password": "wonderland"},
         "capture": {"sid": "cookie:session", "who": "user"}},
        {"name": "send", "path": "/cookies", "cookies": {"t": "${tok}", "me": "${who}"},
         "checks": {"status": 200}},
        {"name": "echo", "method": "POST", "path": "/echo", "body": "${sid}",
         "checks": {"status": 200}},
    ]}]})
    assert count(metrics, "iterations", {"error": "capture"}) == 0
    received = site.counts()["cookies"]
    assert received["me=ann"] == 2
    assert sum(n for c, n in received.items() if c.startswith("t=hdr-")) == 2
    assert rate(metrics, "checks") == 1.0


def test_bad_captures_are_errors_of_the_file() -> None:
    for source, says in [("header:", "header name"), ("cookie:a b", "cookie name"),
                         ("data..x[", "JSON path")]:
        with pytest.raises(ValueError, match=says):
            HttpScenario.model_validate({
                "driver": "http", "url": "http://127.0.0.1:1", "vus": 1, "duration": "1s",
                "flows": [{"name": "f", "steps": [{"path": "/", "capture": {"x": source}}]}]})


# -- compression -----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_compressed_bodies_are_decoded_for_checks(run, site, encoding) -> None:
    metrics = run({"iterations": 3, "accept_encoding": "gzip, deflate, br, zstd",
                   "requests": [{"name": "c", "path": f"/compressed/{encoding}",
                                 "checks": {"json": {"encoding": encoding},
                                            "body_contains": "compressed world"}}]})
    assert rate(metrics, "checks") == 1.0
    plain = len(json.dumps({"encoding": encoding, "text": "hello compressed world " * 40}))
    # what came over the wire is three compressed bodies and their heads: less than the
    # plain bodies alone would be
    assert 0 < count(metrics, "data_received") < 3 * plain


def test_without_accept_encoding_nothing_is_compressed(run, site) -> None:
    metrics = run({"requests": [{"name": "c", "path": "/echo", "method": "POST",
                                 "checks": {"json": {"accept_encoding": None}}}]})
    assert rate(metrics, "checks") == 1.0


# -- bodies and auth -------------------------------------------------------------------------

def test_form_multipart_and_body_file_uploads(run, site, tmp_path) -> None:
    avatar = tmp_path / "avatar.bin"
    avatar.write_bytes(bytes(range(256)) * 40)  # 10240 bytes, every byte value
    doc = tmp_path / "doc.json"
    doc.write_text('{"a": 1}')
    metrics = run({"iterations": 6, "requests": [
        {"name": "form", "method": "POST", "path": "/upload",
         "form": {"city": "Zürich & co", "n": 3},
         "checks": {"json": {"fields.city": "Zürich & co", "fields.n": "3"}}},
        {"name": "multipart", "method": "POST", "path": "/upload",
         "multipart": {"title": "hi", "avatar": {"file": "avatar.bin",
                                                 "content_type": "image/png"}},
         "checks": {"json": {"files.avatar": 10240, "fields.title": "hi"}}},
        {"name": "raw", "method": "PUT", "path": "/upload", "body_file": "doc.json",
         "headers": {"Content-Type": "application/json"}, "checks": {"status": 200}},
    ]}, context={"targets_folder": str(tmp_path)})
    counts = site.counts()
    assert rate(metrics, "checks") == 1.0
    assert counts["uploaded"] == 2 * 10240 + 2 * 8
    assert counts["fields"] == {"city=Zürich & co": 2, "n=3": 2, "title=hi": 2}
    assert count(metrics, "data_sent") >= 1


def test_a_missing_upload_file_is_an_error_of_the_file(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"nope\.bin does not exist"):
        HttpScenario.model_validate({
            "driver": "http", "url": "http://127.0.0.1:1", "vus": 1, "duration": "1s",
            "requests": [{"path": "/", "method": "POST",
                          "multipart": {"f": {"file": "nope.bin"}}}]},
            context={"targets_folder": str(tmp_path)})
    with pytest.raises(ValueError, match="one body"):
        HttpScenario.model_validate({
            "driver": "http", "url": "http://127.0.0.1:1", "vus": 1, "duration": "1s",
            "requests": [{"path": "/", "method": "POST", "form": {"a": 1}, "body": "x"}]})


def test_basic_and_bearer_auth(run, site) -> None:
    metrics = run({"iterations": 6, "requests": [
        {"name": "basic", "path": "/auth/basic",
         "auth": {"basic": {"user": "ann", "password": "wonderland"}},
         "checks": {"status": 200}},
        {"name": "bearer", "path": "/auth/bearer", "auth": {"bearer": {"token": "tok-3f9a"}},
         "checks": {"status": 200}},
        {"name": "wrong", "path": "/auth/basic",
         "auth": {"basic": {"user": "ann", "password": "nope"}}, "checks": {"status": 401}},
    ]})
    assert rate(metrics, "checks") == 1.0
    assert site.counts()["hits"] == {"/auth/basic": 4, "/auth/bearer": 2}


# -- connections -----------------------------------------------------------------------------

def test_connection_reuse_false_opens_a_connection_per_request(run, site) -> None:
    metrics = run({"iterations": 5, "connection_reuse": False,
                   "requests": [{"name": "h", "path": "/health"}]})
    assert count(metrics, "http.req_connecting") == 5
    metrics = run({"iterations": 5, "requests": [{"name": "h", "path": "/health"}]})
    assert count(metrics, "http.req_connecting") == 1


def test_hosts_send_a_name_to_another_address(run, site) -> None:
    metrics = run({"url": f"http://api.test:{site.port}", "service": None,
                   "hosts": {"api.test": "127.0.0.1"}, "iterations": 3,
                   "requests": [{"name": "h", "path": "/health", "checks": {"status": 200}}]},
                  allow_hosts=["api.test"])
    assert rate(metrics, "checks") == 1.0
    assert site.counts()["hits"] == {"/health": 3}


def test_hosts_must_be_allowed_both_ways() -> None:
    base = {"driver": "http", "url": "http://api.test:1", "vus": 1, "duration": "1s",
            "requests": [{"path": "/"}]}
    with pytest.raises(ValueError, match=r"load may not go to 10\.1\.2\.3"):
        HttpScenario.model_validate({**base, "hosts": {"api.test": "10.1.2.3"}},
                                    context={"allow_hosts": ["api.test"]})
    with pytest.raises(ValueError, match="expected an IP address"):
        HttpScenario.model_validate({**base, "hosts": {"api.test": "elsewhere"}})


def test_a_request_timeout_of_its_own(run, site) -> None:
    metrics = run({"iterations": 2, "requests": [
        {"name": "short", "path": "/slow", "query": {"ms": 800}, "timeout": "200ms"},
        {"name": "long", "path": "/slow", "query": {"ms": 300}}]})
    assert count(metrics, "http.reqs", {"name": "short", "error": "timeout"}) == 1
    assert count(metrics, "http.reqs", {"name": "long", "status": "200"}) == 1
    duration = metrics.combined("http.req_duration", {"name": "short"})
    assert duration is not None and 0.19 <= duration.aggregate("max") / 1000 < 0.5


def test_the_server_module_is_reachable() -> None:
    # the same server runs as the example's service: it starts and answers on its own
    s = Site()
    try:
        with urllib.request.urlopen(f"{s.url}/health", timeout=5) as answer:
            assert json.loads(answer.read()) == {"status": "ok"}
    finally:
        s.close()


def test_the_head_is_read_only_where_a_cookie_can_be() -> None:
    from perfgate_aiohttp_api.heads import parse_head, sets_cookie

    assert sets_cookie([b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\n\r\nok"])
    assert not sets_cookie([b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nno cookies"])
    # a long body is not read; a short one that says cookie is a maybe the head turns down
    assert not sets_cookie([b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n" + b"x" * 5000
                            + b"Set-Cookie: in the body"])
    assert parse_head([b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nSet-Cookie: a"]).all("set-cookie") == []
    # after an interim head, and with the head in two pieces
    assert sets_cookie([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nset-cookie: a\r\n\r\n"])
    assert sets_cookie([b"HTTP/1.1 200 OK\r\nX: y\r\nSet-Co", b"okie: a=1\r\n\r\n"])
    head = parse_head([b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                       b"HTTP/1.1 302 Found\r\nLocation: /x\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody"])
    assert head.get("location") == "/x" and head.joined("x-a") == "1, 2"
    assert head.get("link") is None


def test_worker_processes_get_the_whole_request(run, site) -> None:
    # auth secrets, form bodies and the jar's settings cross to worker processes
    metrics = run({"workers": 2, "vus": 2, "iterations": 3, "flows": [{"name": "f", "steps": [
        {"name": "login", "method": "POST", "path": "/login",
         "form": {"user": "ann", "password": "wonderland"}},
        {"name": "me", "path": "/me", "checks": {"json": {"user": "ann"}}},
        {"name": "basic", "path": "/auth/basic",
         "auth": {"basic": {"user": "bob", "password": "builder"}}, "checks": {"status": 200}},
    ]}]})
    assert rate(metrics, "checks") == 1.0
    assert site.counts()["hits"] == {"/login": 6, "/me": 6, "/auth/basic": 6}


@pytest.mark.parametrize(("extra", "message"), [
    ("    requests: [{method: POST, path: /, body_file: nope.bin}]",
     r"targets.yml:\d+:\d+: scenarios.load.requests\[0\].body_file: .*nope.bin does not exist"),
    ("    requests: [{method: POST, path: /, multipart: {f: {file: gone.png}}}]",
     r"targets.yml:\d+:\d+: scenarios.load.requests\[0\].multipart.f.file.file: "
     r".*gone.png does not exist"),
    ("    flows: [{name: f, steps: [{path: /, capture: {t: \"header:\"}}]}]",
     r"targets.yml:\d+:\d+: scenarios.load.flows\[0\].steps\[0\].capture: .*header name"),
    ("    requests: [{path: /, auth: {basic: {user: a}}}]",
     r"targets.yml:\d+:\d+: scenarios.load.requests\[0\].auth.basic: "
     r"missing required key 'password'"),
    ("    hosts: {api.test: 10.0.0.1}\n    requests: [{path: /}]",
     r"targets.yml:\d+:\d+: scenarios.load.*load may not go to 10.0.0.1"),
])
def test_wrong_request_keys_are_errors_of_the_targets_file(tmp_path, extra, message) -> None:
    import re

    from perfgate import ConfigError
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost

    (tmp_path / "targets.yml").write_text(
        "version: 1\nscenarios:\n  load:\n    driver: http\n    url: http://127.0.0.1:9\n"
        "    executor: per-vu-iterations\n    vus: 1\n    iterations: 1\n" + extra + "\n")
    with pytest.raises(ConfigError) as raised:
        load_targets(tmp_path / "targets.yml", PluginHost.load())
    assert re.search(message, str(raised.value)), str(raised.value)
