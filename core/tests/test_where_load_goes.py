"""Load, health probes and collectors go only to loopback and ``allow_hosts:``, by name and
by the address actually connected to."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from perfgate import ConfigError, ServiceError, address_allowed
from perfgate.config import ServiceConfig
from perfgate.services import HealthRefused, ServiceManager, probe
from perfgate.testing import free_port, outside_address, run_context, run_targets


class Server:
    """A real HTTP server on ``host``: ``/health`` answers 200, ``/away`` redirects to
    ``location``; every request it got is counted."""

    def __init__(self, host: str, location: str = "") -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if self.path == "/away":
                    self.send_response(302)
                    self.send_header("Location", location)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def outside() -> Iterator[Server]:
    with Server(outside_address()) as server:
        yield server


def test_a_health_redirect_off_loopback_is_refused_and_not_followed(outside):
    url = f"http://{outside.httpd.server_address[0]}:{outside.port}/health"
    with Server("127.0.0.1", location=url) as local:
        with pytest.raises(HealthRefused, match="refusing to send load to"):
            probe(f"http://127.0.0.1:{local.port}/away", None)
        assert local.requests == ["/away"]
    assert outside.requests == []  # the server it pointed to answers, but got nothing
    # With its host listed under allow_hosts, the same redirect is followed.
    host = str(outside.httpd.server_address[0])
    with Server("127.0.0.1", location=url) as local:
        assert probe(f"http://127.0.0.1:{local.port}/away", None, allow_hosts=(host,)) is None
    assert outside.requests == ["/health"]


def test_a_health_redirect_to_loopback_is_followed():
    with Server("127.0.0.1") as target:
        with Server("127.0.0.1", f"http://localhost:{target.port}/health") as local:
            assert probe(f"http://127.0.0.1:{local.port}/away", None) is None
        assert target.requests == ["/health"]


def test_a_loopback_name_that_resolves_elsewhere_is_refused(outside, monkeypatch):
    # A resolver that does not keep `.localhost` local (or an /etc/hosts line): the name
    # looks loopback, and would reach another machine's address.
    address = str(outside.httpd.server_address[0])
    real = socket.getaddrinfo
    answers: list[str] = []

    def resolve(host, *args, **kwargs):
        if host == "api.localhost":
            host = answers.pop() if answers else address
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(HealthRefused, match=f"it resolved to {address}"):
        probe(f"http://api.localhost:{outside.port}/health", None)
    assert outside.requests == []  # refused before connecting
    # DNS rebinding: loopback when perfgate resolves it, elsewhere when the client does.
    # The address the connection reached is checked: the answer is not believed.
    answers.append("127.0.0.1")
    with pytest.raises(HealthRefused, match=f"it resolved to {address}"):
        probe(f"http://api.localhost:{outside.port}/health", None)
    assert outside.requests == ["/health"]


def test_a_service_whose_health_redirects_off_loopback_does_not_start_the_load(
        outside, tmp_path):
    url = f"http://{outside.httpd.server_address[0]}:{outside.port}/health"
    with Server("127.0.0.1", location=url) as local:
        services = {"api": ServiceConfig(url=f"http://127.0.0.1:{local.port}",
                                         health="/away", start_timeout=5.0)}
        manager = ServiceManager(services, tmp_path, tmp_path)
        with pytest.raises(ServiceError, match="refusing to send load to"):
            manager.start_all()
    assert outside.requests == []


def test_a_whole_health_url_off_loopback_is_a_targets_file_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        run_targets(f"""
            version: 1
            services:
              api: {{url: "http://127.0.0.1:{free_port()}", health: "http://192.0.2.1/health"}}
            """, output_dir=tmp_path)
    message = str(caught.value)
    assert "services.api.health" in message and "'192.0.2.1'" in message


@pytest.mark.parametrize(("host", "address", "allow", "allowed"), [
    ("localhost", "127.0.0.1", (), True),
    ("api.localhost", "::1", (), True),
    ("api.localhost", "192.0.2.7", (), False),
    ("staging.example.com", "192.0.2.7", ("staging.example.com",), True),
    ("127.0.0.1", "127.0.0.1", (), True),
    ("localhost", "", (), True),  # a Unix socket
])
def test_the_address_connected_to_must_be_loopback_unless_the_host_is_listed(
        host, address, allow, allowed):
    assert address_allowed(host, address, allow) is allowed
    context = run_context(allow_hosts=allow)
    if allowed:
        context.check_connected(host, address)
    else:
        with pytest.raises(ConfigError, match=f"resolved to {address}"):
            context.check_connected(host, address)
