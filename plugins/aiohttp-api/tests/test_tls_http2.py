"""TLS and HTTP/2 against a real nginx, checked against nginx's own access log.

nginx (Debian's nginx-light) serves each case on a port of its own with certificates the
test makes (a CA, a server and a client certificate, a self-signed one); each request nginx
served is a line of its log with its protocol, status and length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from perfgate import ConfigError, MetricSet, request_failures
from perfgate.errors import ConfigErrors
from perfgate.testing import run_context, run_targets
from perfgate_aiohttp_api import HttpDriver, HttpScenario
from perfgate_aiohttp_api.client import Traffic
from perfgate_aiohttp_api.nginx_truth import BIG, Nginx, nginx, nginx_binary
from perfgate_aiohttp_api.plan import build_request

pytestmark = pytest.mark.timeout(120)

Drive = Callable[..., tuple[MetricSet, HttpDriver]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    if nginx_binary() is None:
        pytest.skip("nginx is missing (Debian: apt-get install nginx-light)")
    with nginx(tmp_path_factory.mktemp("nginx")) as running:
        yield running


@pytest.fixture
def drive(server: Nginx) -> Drive:
    """``drive(name, {...scenario...})``: the driver against one of nginx's servers."""

    def run(name: str, scenario: dict[str, Any]) -> tuple[MetricSet, HttpDriver]:
        closed = {} if "executor" in scenario else {"executor": "constant-vus", "vus": 4}
        cfg = HttpScenario.model_validate({
            "driver": "http", "url": server.url(name, ""), **closed, "duration": "1s",
            "requests": [{"path": "/"}], **scenario})
        driver = HttpDriver(cfg, run_context(progress=False), "load")
        server.mark()
        return driver.run(), driver

    return run


def count(metrics: MetricSet, name: str, tags: dict[str, str] | None = None) -> int:
    return int(sum(m.aggregate("count") or 0 for m in metrics.select(name, tags)))


def ca(server: Nginx, **more: Any) -> dict[str, Any]:
    return {"tls": {"ca_bundle": server.file("ca.pem"), **more}}


# -- HTTP/2 --------------------------------------------------------------------------------
def test_h2_by_alpn_counts_match_nginx(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h2tls", {"vus": 8, "http_version": "auto", **ca(server), "requests": [
        {"name": "root", "path": "/", "checks": {"status": 200, "body_contains": "ok"}},
        {"name": "token", "path": "/token", "checks": {"json": {"token": "t-42"}}}]})
    logged = server.requests("h2tls")
    assert logged and {line.protocol for line in logged} == {"HTTP/2.0"}
    assert count(metrics, "http.reqs") == len(logged)
    assert count(metrics, "http.reqs", {"proto": "HTTP/2"}) == len(logged)
    assert count(metrics, "http.reqs", {"proto": "HTTP/1.1"}) == 0
    assert metrics.combined("http.req_failed").aggregate("rate") == 0
    checks = metrics.combined("checks")
    assert checks.aggregate("rate") == 1  # two checks of root, one of token, each response
    assert checks.aggregate("count") == 2 * count(metrics, "http.reqs", {"name": "root"}) + \
        count(metrics, "http.reqs", {"name": "token"})
    # 8 VUs share one connection (100 streams each by default): one connect, one handshake
    assert count(metrics, "http.req_connecting") == 1
    assert count(metrics, "http.req_tls_handshaking") == 1
    for name in ("http.req_waiting", "http.req_receiving"):
        assert count(metrics, name) == len(logged)
    # data_received: at least every response's body and status line as nginx sent it over
    received = metrics.combined("data_received").aggregate("count")
    assert received >= sum(line.bytes_sent for line in logged) * 0.5


def test_h2_in_worker_processes(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h2tls", {"vus": 4, "workers": 2, "http_version": "auto", **ca(server)})
    logged = server.requests("h2tls")
    assert {line.protocol for line in logged} == {"HTTP/2.0"}
    assert count(metrics, "http.reqs", {"proto": "HTTP/2"}) == len(logged) > 0
    assert count(metrics, "http.req_tls_handshaking") == 2  # one connection per process


def test_h2_head_requests_and_traces(drive: Drive, server: Nginx) -> None:
    """A HEAD response ends at its headers; a traced request carries its traceparent."""
    metrics, driver = drive("h2c", {"http_version": "2", "trace": {"slowest": 2}, "requests": [
        {"name": "head", "method": "HEAD", "path": "/big", "checks": {"status": 200}}]})
    logged = server.requests("h2c")
    assert logged and all(line.bytes_sent < 1000 for line in logged)  # headers only
    assert len({line.traceparent for line in logged}) == len(logged)  # a new one each time
    assert all(line.traceparent.startswith("00-") for line in logged)
    assert count(metrics, "http.reqs", {"proto": "HTTP/2", "status": "200"}) == len(logged)
    assert metrics.combined("checks").aggregate("rate") == 1
    assert len(driver.details()["slowest"]["head"]) == 2


def test_stream_limit_opens_more_connections(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h2c", {"vus": 10, "http_version": 2, "http2_max_streams": 4})
    logged = server.requests("h2c")
    assert {line.protocol for line in logged} == {"HTTP/2.0"}
    assert count(metrics, "http.reqs", {"proto": "HTTP/2"}) == len(logged) > 0
    assert count(metrics, "http.req_connecting") == 3  # 4 + 4 + 2 VUs
    assert count(metrics, "http.req_tls_handshaking") == 0  # clear text


def test_server_caps_streams(drive: Drive, server: Nginx) -> None:
    """nginx's http2_max_concurrent_streams 2 caps the 100 streams asked for."""
    metrics, _ = drive("cap2", {"vus": 6, "http_version": "2"})
    assert count(metrics, "http.req_connecting") == 3
    assert count(metrics, "http.reqs") == len(server.requests("cap2")) > 0


def test_goaway_requests_sent_again(drive: Drive, server: Nginx) -> None:
    """nginx says GOAWAY after 25 requests on a connection; the requests it did not take are
    sent again on a new connection, and every request is counted once."""
    metrics, _ = drive("goaway", {"vus": 2, "http_version": "2"})
    logged = server.requests("goaway")
    assert len(logged) > 100
    assert count(metrics, "http.reqs") == len(logged)
    assert metrics.combined("http.req_failed").aggregate("rate") == 0
    assert count(metrics, "http.req_connecting") >= len(logged) // 25


def test_h2_flow_control_large_bodies(drive: Drive, server: Nginx) -> None:
    upload = "u" * 300_000  # more than nginx's 64 KiB window
    metrics, _ = drive("h2tls", {"vus": 2, "http_version": "auto", **ca(server), "requests": [
        {"path": "/big", "checks": {"status": 200}},
        {"path": "/put/${vu}", "method": "PUT", "body": upload,
         "checks": {"status": [201, 204]}}]})
    logged = server.requests("h2tls")
    big = [line for line in logged if line.bytes_sent > BIG]
    uploads = [line for line in logged if line.request_length > len(upload)]
    assert big and uploads and len(big) + len(uploads) == len(logged)
    stored = Path(server.file("www")) / "put"
    assert sorted(p.stat().st_size for p in stored.iterdir()) == [len(upload)] * 2
    assert metrics.combined("checks").aggregate("rate") == 1
    assert count(metrics, "http.reqs") == len(logged)
    assert metrics.combined("data_received").aggregate("count") >= BIG * len(big)
    assert metrics.combined("data_sent").aggregate("count") >= len(upload) * len(uploads)


def test_h2_open_model_and_captures(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h2c", {
        "executor": "constant-arrival-rate", "rate": 200, "duration": "1s",
        "pre_allocated_vus": 10, "max_vus": 100, "http_version": "2", "requests": [],
        "flows": [{"name": "login", "steps": [
            {"path": "/token", "capture": {"token": "$.token"}},
            {"path": "/?t=${token}", "checks": {"status": 200}}]}]})
    logged = server.requests("h2c")
    assert count(metrics, "http.reqs", {"proto": "HTTP/2"}) == len(logged)
    assert metrics.combined("checks").aggregate("rate") == 1
    # 200 scheduled flows of two steps: each one ran whole or was dropped
    flows = count(metrics, "iterations")
    assert flows + count(metrics, "dropped_iterations") == 200
    assert len(logged) == 2 * flows


@pytest.mark.parametrize("name", ["h2c", "h2tls"])
def test_h2_redirects_cookies_and_header_captures(drive: Drive, server: Nginx,
                                                   name: str) -> None:
    """Over HTTP/2 as over HTTP/1.1: /login answers 302 with a Set-Cookie, the redirect is
    followed with the cookie from the jar (/session is 401 without it), and the cookie is
    captured for a later step's header (/sid is 403 without it)."""
    metrics, _ = drive(name, {"http_version": "2", **(ca(server) if name == "h2tls" else {}),
                              "requests": [], "flows": [{"name": "in", "steps": [
        {"name": "login", "path": "/login", "capture": {"sid": "cookie:sid"},
         "checks": {"status": 200}},
        {"name": "sid", "path": "/sid", "headers": {"X-Sid": "${sid}"},
         "checks": {"status": 200}}]}]})
    logged = server.requests(name)
    assert logged and {line.protocol for line in logged} == {"HTTP/2.0"}
    flows = count(metrics, "iterations")
    statuses = [line.status for line in logged]
    assert flows > 0 and statuses.count(302) == flows
    assert statuses.count(200) == 2 * flows and set(statuses) == {200, 302}
    assert count(metrics, "http.reqs", {"proto": "HTTP/2"}) == len(logged)
    assert metrics.combined("checks").aggregate("rate") == 1


def test_h2_timeout_cancels_the_stream(drive: Drive, server: Nginx) -> None:
    """nginx waits for an upstream that never answers; each request times out, its stream is
    reset, and nginx logs it as 499 (the client closed the request)."""
    metrics, _ = drive("h2c", {"vus": 3, "http_version": "2", "timeout": "0.3s",
                               "graceful_stop": "1s", "requests": [{"path": "/hang"}]})
    timed_out = count(metrics, "http.reqs", {"error": "timeout"})
    assert timed_out >= 6 and count(metrics, "http.reqs") == timed_out
    durations = metrics.combined("http.req_duration")
    assert durations.aggregate("min") >= 300 and durations.aggregate("max") < 1000
    wait_for(lambda: len(server.requests("h2c")) == timed_out)
    assert {line.status for line in server.requests("h2c")} == {499}


def test_h2_graceful_stop_interrupts_streams_in_flight(drive: Drive, server: Nginx) -> None:
    metrics, driver = drive("h2c", {"vus": 3, "http_version": "2", "duration": "0.3s",
                                    "graceful_stop": "0.2s", "requests": [{"path": "/hang"}]})
    assert count(metrics, "http.reqs") == count(metrics, "http.reqs",
                                                {"error": "interrupted"}) == 3
    assert driver.details()["driver"]["unfinished_requests"] == 3
    wait_for(lambda: len(server.requests("h2c")) == 3)
    assert {line.status for line in server.requests("h2c")} == {499}


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """nginx logs a cancelled request when it notices: wait for it, a bounded while."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_auto_speaks_http1_when_the_server_chooses_it(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h1tls", {"http_version": "auto", **ca(server)})
    logged = server.requests("h1tls")
    assert {line.protocol for line in logged} == {"HTTP/1.1"}
    assert count(metrics, "http.reqs", {"proto": "HTTP/1.1"}) == len(logged) > 0
    assert count(metrics, "http.req_tls_handshaking") == 4  # one connection per VU


def test_http_version_1_1_over_h2_server(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h2tls", {"http_version": "1.1", **ca(server)})
    logged = server.requests("h2tls")
    assert {line.protocol for line in logged} == {"HTTP/1.1"}
    assert count(metrics, "http.reqs", {"proto": "HTTP/1.1"}) == len(logged) > 0


def test_http_version_2_refused_by_http1_server(drive: Drive, server: Nginx) -> None:
    """A server without h2 answers the ALPN offer of h2 alone with a TLS alert."""
    metrics, _ = drive("h1tls", {"duration": "0.3s", "http_version": "2", **ca(server)})
    assert server.requests("h1tls") == []
    assert tls_failures(metrics) == {"tls: tlsv1 alert no application protocol"}


# -- TLS -----------------------------------------------------------------------------------
def tls_failures(metrics: MetricSet) -> set[str]:
    return {f.reason for f in request_failures(metrics)}


def test_verification_on_by_default(drive: Drive, server: Nginx) -> None:
    """The system's store does not know the test's CA: every request fails, none is sent."""
    metrics, _ = drive("h2tls", {"duration": "0.3s"})
    assert server.requests() == []
    assert count(metrics, "http.reqs") > 0
    assert tls_failures(metrics) == {
        "tls: certificate verify failed: unable to get local issuer certificate"}
    assert count(metrics, "http.req_tls_handshaking") == 0  # none completed


def test_self_signed_refused_and_insecure_accepted(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("selfsigned", {"duration": "0.3s", **ca(server)})
    assert server.requests() == []
    assert tls_failures(metrics) == {"tls: certificate verify failed: self-signed certificate"}
    metrics, _ = drive("selfsigned", {"insecure_skip_tls_verify": True})
    assert count(metrics, "http.reqs", {"status": "200"}) == len(
        server.requests("selfsigned")) > 0


def test_server_name_sni(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("h2tls", ca(server, server_name="api.test"))
    assert count(metrics, "http.reqs", {"status": "200"}) == len(server.requests()) > 0
    metrics, _ = drive("h2tls", {"duration": "0.3s", **ca(server, server_name="other.test")})
    assert server.requests() == []
    reasons = tls_failures(metrics)
    assert len(reasons) == 1 and "hostname mismatch" in reasons.pop().lower()


def test_client_certificate(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("mtls", ca(server, client_cert=server.file("client.pem"),
                                  client_key=server.file("client.key")))
    logged = server.requests("mtls")
    assert logged and {line.client_verify for line in logged} == {"SUCCESS"}
    assert count(metrics, "http.reqs", {"status": "200"}) == len(logged)
    metrics, _ = drive("mtls", ca(server))  # none sent: nginx answers 400
    logged = server.requests("mtls")
    assert {(line.status, line.client_verify) for line in logged} == {(400, "NONE")}
    assert count(metrics, "http.reqs", {"error": "http_4xx"}) == len(logged)


def test_min_version(drive: Drive, server: Nginx) -> None:
    metrics, _ = drive("tls12", ca(server, min_version=1.2))
    logged = server.requests("tls12")
    assert logged and {line.tls for line in logged} == {"TLSv1.2"}
    assert count(metrics, "http.reqs", {"status": "200"}) == len(logged)
    metrics, _ = drive("tls12", {"duration": "0.3s", **ca(server, min_version="1.3")})
    assert server.requests() == []
    assert {m.tags.get("error") for m in metrics.select("http.reqs")} == {"tls"}
    metrics, _ = drive("h2tls", ca(server, min_version="1.3"))
    assert {line.tls for line in server.requests("h2tls")} == {"TLSv1.3"}


# -- the options -----------------------------------------------------------------------------
def test_option_errors_at_their_keys(tmp_path: Path) -> None:
    base = {"driver": "http", "url": "https://127.0.0.1:1", "vus": 1, "duration": "1s",
            "requests": [{"path": "/"}]}
    cases = [({"tls": {"ca_bundle": "missing.pem"}}, ("tls", "ca_bundle"), "no such file"),
             ({"tls": {"min_version": "1.4"}}, ("tls", "min_version"), "1.3"),
             ({"tls": {"client_key": str(tmp_path)}}, ("tls", "client_key"), "no such file"),
             ({"http_version": "3"}, ("http_version",), "auto"),
             ({"http2_max_streams": 0}, ("http2_max_streams",), "greater")]
    for extra, loc, words in cases:
        with pytest.raises(ValidationError) as caught:
            HttpScenario.model_validate({**base, **extra},
                                        context={"targets_folder": str(tmp_path)})
        errors = caught.value.errors()
        assert [tuple(e["loc"]) for e in errors] == [loc], errors
        assert words in str(caught.value)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ValidationError, match="cannot load the TLS files"):
        HttpScenario.model_validate({**base, "tls": {"client_cert": "bad.pem"}},
                                    context={"targets_folder": str(tmp_path)})


def test_files_relative_to_targets_file(server: Nginx) -> None:
    folder = Path(server.file("ca.pem")).parent
    cfg = HttpScenario.model_validate(
        {"driver": "http", "url": "https://127.0.0.1:1", "vus": 1, "duration": "1s",
         "requests": [{"path": "/"}], "tls": {"ca_bundle": "ca.pem", "client_cert": "client.pem",
                                              "client_key": "client.key"}},
        context={"targets_folder": str(folder)})
    assert cfg.tls is not None and cfg.tls.ca_bundle == str(folder / "ca.pem")


BAD_TLS = """\
version: 1
scenarios:
  api:
    driver: http
    url: https://127.0.0.1:1
    vus: 1
    duration: 1s
    tls:
      ca_bundle: nowhere/ca.pem
      min_version: 1.4
    http_version: 3
    requests: [{path: /}]
"""


def test_targets_file_errors_name_key_and_line(perfgate_plugin, tmp_path: Path) -> None:
    import perfgate_aiohttp_api

    perfgate_plugin(perfgate_aiohttp_api)
    with pytest.raises(ConfigError) as caught:
        run_targets(BAD_TLS, output_dir=tmp_path)
    error = caught.value
    assert isinstance(error, ConfigErrors)
    said = {(p.key, p.location.line if p.location else None) for p in error.problems}
    assert said == {("scenarios.api.tls.ca_bundle", 9), ("scenarios.api.tls.min_version", 10),
                    ("scenarios.api.http_version", 11)}
    assert str(tmp_path / "nowhere" / "ca.pem") in str(error)


def test_a_gate_over_h2_with_files_next_to_the_targets_file(perfgate_plugin, server: Nginx,
                                                            tmp_path: Path) -> None:
    """The whole run: certificates beside the targets file, a threshold on proto:HTTP/2."""
    import perfgate_aiohttp_api

    perfgate_plugin(perfgate_aiohttp_api)
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_bytes(Path(server.file(name)).read_bytes())
    server.mark()
    outcome = run_targets(f"""\
version: 1
scenarios:
  api:
    driver: http
    url: {server.url("mtls", "")}
    vus: 2
    duration: 1s
    http_version: auto
    tls: {{ca_bundle: ca.pem, client_cert: client.pem, client_key: client.key}}
    requests: [{{path: /, checks: {{status: 200}}}}]
targets:
  h2-latency:
    metric: http.req_duration{{proto:HTTP/2}}
    target: p(95) < 1s
  handshakes:
    metric: http.req_tls_handshaking
    target: count > 0
""", output_dir=tmp_path)
    verdicts = {c.name: c.verdict.value for c in outcome.result.checks}
    logged = server.requests("mtls")
    assert {line.client_verify for line in logged} == {"SUCCESS"} and logged
    assert verdicts["h2-latency"] == "pass" and verdicts["handshakes"] == "pass", verdicts


def test_repeated_header_blocks_decode_as_sent() -> None:
    """The client's encoder reuses a block while its table is unchanged; h2's own server
    side decodes every request as it was meant, whether its fields repeat or change."""
    import h2.config
    import h2.connection

    from perfgate_aiohttp_api.h2client import H2Connection, h2_request

    client = H2Connection(Traffic(), 100).h2
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False,
                                                                  header_encoding=None))
    server.initiate_connection()
    client.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    for i in range(300):
        path = f"/u/{i}" if i % 10 == 0 else ("/a", "/b", "/c")[i % 3]
        headers, _ = h2_request(build_request("GET", "127.0.0.1:1", path, {"X-N": str(i % 2)},
                                              None), b"https")
        sid = client.get_next_available_stream_id()
        client.send_headers(sid, headers, end_stream=True)
        events = server.receive_data(client.data_to_send())
        assert events[0].headers == headers
        server.send_headers(sid, [(b":status", b"200")], end_stream=True)
        client.receive_data(server.data_to_send())
    assert client.encoder._blocks  # some blocks were reused
