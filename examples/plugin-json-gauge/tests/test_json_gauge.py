"""The json-gauge collector against a real HTTP server on 127.0.0.1 serving known JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import perfgate_json_gauge
from perfgate import (
    ConfigError,
    DriverScenario,
    Duration,
    LoadDriver,
    MetricSet,
    hookimpl,
    validate_result,
)
from perfgate.testing import run_targets

STATUS = {"queue": {"depth": 7}, "pools": [{"busy": 3}, {"busy": 5}], "healthy": True}


class StatusServer(ThreadingHTTPServer):
    """Serves ``STATUS`` plus ``hits``, the number of requests served so far (this one too)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StatusHandler)
        self.hits = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/status"


class _StatusHandler(BaseHTTPRequestHandler):
    server: StatusServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits += 1
            body = json.dumps({**STATUS, "hits": self.server.hits}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@pytest.fixture
def server() -> Iterator[StatusServer]:
    srv = StatusServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


class WaitScenario(DriverScenario):
    duration: Duration = 1.0


class WaitDriver(LoadDriver[WaitScenario]):
    """Sends no load: only lasts ``duration``, so the collector has a run to sample across."""

    name = "wait"

    def run(self) -> MetricSet:
        self.context.wait(self.context.scale(self.config.duration))
        return MetricSet()


class WaitPlugin:
    @staticmethod
    @hookimpl
    def perfgate_register_components(register) -> None:
        register(WaitDriver)


@pytest.fixture(autouse=True)
def plugins(perfgate_plugin, monkeypatch) -> None:
    """Only the built-ins, this plugin and the wait driver: no other installed plugin."""
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    perfgate_plugin(perfgate_json_gauge)
    perfgate_plugin(WaitPlugin)


def targets(url: str, gauges: dict[str, Any], checks: dict[str, Any],
            **extra: Any) -> dict[str, Any]:
    return {"version": 1,
            "collectors": {"json-gauge": {"url": url, "interval": "100ms", "gauges": gauges}},
            "targets": checks, "reporters": {"json": {"path": "result.json"}}, **extra}


def test_polls_every_interval_and_records_each_gauge(server, tmp_path):
    outcome = run_targets(targets(
        server.url,
        {"app.queue_depth": {"path": "queue.depth"}, "app.pool_busy": {"path": "pools.1.busy"},
         "app.hits": {"path": "hits"}},
        {"queue": {"metric": "app.queue_depth", "target": "max < 10", "critical": "max < 20"}},
        scenarios={"idle": {"driver": "wait", "duration": "1s"}}), output_dir=tmp_path)

    assert outcome.exit_code == 0
    result = outcome.result
    assert [(c.name, c.verdict.value, c.measured) for c in result.checks] == [
        ("queue", "pass", 7.0)]
    assert result.errors == []
    depth = result.metric("app.queue_depth")
    assert depth["kind"] == "gauge"
    assert depth["values"] == {"value": 7.0, "min": 7.0, "max": 7.0, "avg": 7.0}
    assert result.metric("app.pool_busy")["values"]["value"] == 5.0
    # One request per sample: the last sample read the server's own count.
    hits = result.metric("app.hits")
    assert hits["data"]["samples"] == server.hits
    assert hits["values"]["value"] == server.hits
    assert hits["values"]["min"] == 1.0
    # A sample at start and at stop, and one per 100 ms in between (fewer if the machine is
    # busy: each wait starts after the previous sample).
    window = hits["window"]["end"] - hits["window"]["start"]
    assert window >= 1.0  # the collector ran across the whole scenario
    assert 0.5 * window / 0.1 <= server.hits <= window / 0.1 + 2
    validate_result(json.loads((tmp_path / "result.json").read_text()))


@pytest.mark.parametrize(("target", "critical", "fail_on", "verdict", "exit_code"), [
    ("max < 10", "max < 20", "fail", "pass", 0),
    ("value == 7", None, "fail", "pass", 0),
    ("max < 5", "max < 20", "fail", "warn", 0),
    ("max < 5", "max < 20", "warn", "warn", 1),
    ("max < 5", "max < 6", "fail", "fail", 1),
    (None, "avg >= 8", "fail", "fail", 1),
])
def test_verdict_from_the_measured_gauge(server, tmp_path, target, critical, fail_on, verdict,
                                         exit_code):
    check = {"metric": "app.queue_depth", "target": target, "critical": critical}
    outcome = run_targets(targets(server.url, {"app.queue_depth": {"path": "queue.depth"}},
                                  {"queue": {k: v for k, v in check.items() if v}}),
                          output_dir=tmp_path, fail_on=fail_on)
    [result] = outcome.result.checks
    assert (result.verdict.value, result.measured, outcome.exit_code) == (verdict, 7.0,
                                                                          exit_code)


@pytest.mark.parametrize(("path", "message"), [
    ("queue.length", "app.queue_depth: no 'length' at 'queue.length' in "),
    ("pools.2.busy", "app.queue_depth: no '2' at 'pools.2.busy' in "),
    ("queue", "app.queue_depth: 'queue' is {'depth': 7}, not a number"),
    ("healthy", "app.queue_depth: 'healthy' is True, not a number"),
])
def test_a_path_without_a_number_is_an_error_verdict(server, tmp_path, path, message):
    outcome = run_targets(targets(server.url, {"app.queue_depth": {"path": path}},
                                  {"queue": {"metric": "app.queue_depth", "target": "max < 10"}}),
                          output_dir=tmp_path)
    [check] = outcome.result.checks
    assert check.verdict.value == "error"
    assert message in check.message
    assert outcome.exit_code == 3
    assert server.hits >= 2  # it kept polling


def test_an_unreachable_endpoint_is_an_error_verdict(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    outcome = run_targets(targets(f"http://127.0.0.1:{port}/status",
                                  {"app.queue_depth": {"path": "queue.depth"}},
                                  {"queue": {"metric": "app.queue_depth", "target": "max < 10"}}),
                          output_dir=tmp_path)
    [check] = outcome.result.checks
    assert check.verdict.value == "error"
    assert "Connection refused" in check.message
    assert outcome.exit_code == 3


def test_refuses_a_host_that_is_not_loopback(tmp_path):
    # 192.0.2.0/24 is reserved for documentation: it is refused before any packet is sent.
    outcome = run_targets(targets("http://192.0.2.10/status",
                                  {"app.queue_depth": {"path": "queue.depth"}},
                                  {"queue": {"metric": "app.queue_depth", "target": "max < 10"}}),
                          output_dir=tmp_path)
    [check] = outcome.result.checks
    assert check.verdict.value == "error"
    assert "refusing to send load to '192.0.2.10'" in check.message
    assert outcome.result.errors[0]["component"] == "json-gauge"
    assert outcome.result.errors[0]["phase"] == "start"
    assert outcome.exit_code == 3


@pytest.mark.parametrize(("collector", "checks", "error"), [
    ({"url": "ftp://127.0.0.1/status", "gauges": {"a.b": {"path": "x"}}},
     {}, "collectors.json-gauge.url: expected an http:// or https:// URL"),
    ({"url": "http://127.0.0.1/status", "gauges": {"a.b": {"pth": "x"}}},
     {}, "unknown key 'pth'; did you mean 'path'?"),
    ({"url": "http://127.0.0.1/status", "gauges": {}},
     {}, "collectors.json-gauge.gauges: "),
    ({"url": "http://127.0.0.1/status", "interval": "often", "gauges": {"a.b": {"path": "x"}}},
     {}, "'often' is not a duration"),
    ({"url": "http://127.0.0.1/status", "gauges": {"a.b": {"path": "x"}}},
     {"t": {"metric": "a.c", "target": "max < 1"}},
     "no configured component produces metric 'a.c'; did you mean 'a.b'?"),
    ({"url": "http://127.0.0.1/status", "gauges": {"a.b": {"path": "x", "unit": "%"}}},
     {"t": {"metric": "a.b", "target": "p(95) < 1"}}, "p(95) does not apply to a gauge metric"),
])
def test_config_errors_name_the_key(tmp_path, collector, checks, error):
    doc = {"version": 1, "collectors": {"json-gauge": collector}, "targets": checks}
    with pytest.raises(ConfigError) as caught:
        run_targets(doc, output_dir=tmp_path)
    assert error in str(caught.value)
    assert str(tmp_path / "targets.yml") in str(caught.value)


def test_perfgate_plugins_lists_the_installed_plugin():
    env = {k: v for k, v in os.environ.items()
           if k not in ("PERFGATE_NO_ENTRYPOINTS", "PERFGATE_DISABLE_PLUGINS")}
    script = Path(sys.executable).with_name("perfgate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "perfgate.cli"]
    out = subprocess.run([*command, "plugins"], capture_output=True, text=True, env=env,
                         timeout=60, check=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines()]
    assert ["json-gauge", "perfgate-json-gauge", "0.1.0", "json-gauge (collector)"] in rows, (
        f"perfgate-json-gauge is not installed (run ./dev install):\n{out}")
