"""The ``pushgateway`` reporter: a failed gate pushed to a real Pushgateway, scraped by a real
Prometheus with monitoring/'s rules, fires PerfgateGateFailed and reaches Alertmanager's
critical receiver; every perfgate metric the dashboards query is one a real push made.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import perfgate_aiohttp_api
import perfgate_prometheus
from perfgate import Check, ResultDocument, ThresholdOutcome, Verdict
from perfgate.testing import free_port, run_context, run_targets
from perfgate_prometheus.exposition import gate_families, grouping_path, render
from perfgate_prometheus.pushgateway import PushgatewayConfig, PushgatewayReporter
from perfgate_prometheus.testing import (
    Alertmanager,
    PrometheusServer,
    Pushgateway,
    scrape_config,
)

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "monitoring"
PLUGINS = [perfgate_prometheus, perfgate_aiohttp_api]

sys.path.insert(0, str(ROOT / "tests" / "monitoring"))
from promql import metric_names  # noqa: E402

# --- the grouping key and the text format -----------------------------------------------------

def test_values_with_a_slash_are_base64url_in_the_group_path():
    assert grouping_path("perfgate", {"targets": "demo"}) == "/metrics/job/perfgate/targets/demo"
    path = grouping_path("perfgate", {"targets": "examples/demo/targets.yml", "branch": ""})
    encoded = base64.urlsafe_b64encode(b"examples/demo/targets.yml").decode()
    assert path == f"/metrics/job/perfgate/targets@base64/{encoded}/branch@base64/="
    assert grouping_path("a/b", {}) == "/metrics/job@base64/YS9i"
    assert grouping_path("perfgate", {"env": "ci test"}) == "/metrics/job/perfgate/env/ci%20test"


def sample_result() -> ResultDocument:
    return ResultDocument(
        run={"id": "abc", "started": 100.0, "finished": 130.5, "duration": 30.5,
             "targets_file": "targets.yml", "status": "completed"},
        verdict="fail", exit_code=1,
        checks=[Check(name="api-latency", metric="http.req_duration{scenario:load}",
                      verdict=Verdict.FAIL, aggregation="p(95)", measured=1250.0, unit="ms",
                      target=ThresholdOutcome("p(95) < 200ms", 200.0, False),
                      critical=ThresholdOutcome("p(95) < 1000ms", 1000.0, False),
                      scenario="load"),
                Check(name='odd "name"\n', metric="x", verdict=Verdict.PASS)],
        scenarios=[{"name": "load"}])


def test_the_exposition_is_valid_prometheus_text():
    text = render(gate_families(sample_result(), []))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    verdicts = {s.labels["verdict"]: s.value for s in families["perfgate_run_verdict"].samples}
    assert verdicts == {"pass": 0, "warn": 0, "fail": 1, "error": 0}
    [value] = families["perfgate_check_value"].samples
    assert value.labels == {"check": "api-latency", "scenario": "load",
                            "metric": "http.req_duration{scenario:load}",
                            "aggregation": "p(95)", "unit": "ms"}
    assert value.value == 1250
    assert [s.value for s in families["perfgate_check_critical"].samples] == [1000]
    odd = [s for s in families["perfgate_check_verdict"].samples
           if s.labels["check"] == 'odd "name"\n' and s.value == 1]
    assert odd[0].labels["verdict"] == "pass"
    assert families["perfgate_run_duration_seconds"].samples[0].value == 30.5


# --- against real servers ---------------------------------------------------------------------

class Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack(webhook: ThreadingHTTPServer) -> Iterator[dict[str, Any]]:
    """monitoring/'s Alertmanager config and gate rules, a Pushgateway, a Prometheus."""
    config = yaml.safe_load((MONITORING / "alertmanager/alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:  # same paths, the test's port
            hook["url"] = hook["url"].replace("127.0.0.1:5001",
                                              f"127.0.0.1:{webhook.server_address[1]}")
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = "0s"
    shipped = yaml.safe_load((MONITORING / "prometheus/prometheus.yml").read_text())
    [job] = [j for j in shipped["scrape_configs"] if j["job_name"] == "pushgateway"]
    with Alertmanager(config) as manager, Pushgateway() as gateway:
        prometheus_config = scrape_config(
            ("pushgateway", [gateway.address], {"honor_labels": job["honor_labels"]}),
            rule_files=[MONITORING / "prometheus/rules/perfgate.yml"],
            alertmanager=manager.address)
        with PrometheusServer(prometheus_config) as prometheus:
            yield {"gateway": gateway, "prometheus": prometheus, "alertmanager": manager}


def failing_gate(tmp_path: Path, gateway_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    port = free_port()
    return run_targets({
        "version": 1,
        "services": {"api": {"url": f"http://127.0.0.1:{port}", "health": "/health",
                             "start": f"{sys.executable} -m demo_app --port {port}"}},
        "scenarios": {"load": {"driver": "http", "service": "api", "executor": "constant-vus",
                               "vus": 2, "duration": "1s",
                               "requests": [{"name": "slow", "path": "/api/slow?ms=20"}]}},
        "targets": {
            "api-latency": {"metric": "http.req_duration{scenario:load}",
                            "target": "p(95) < 5ms", "critical": "p(95) < 10ms"},
            "errors": {"metric": "http.req_failed", "critical": "rate < 1%"},
        },
        "reporters": {"pushgateway": {"url": gateway_url, "grouping": {"branch": "main"}}},
    }, output_dir=tmp_path, plugins=PLUGINS)


@pytest.fixture(scope="module")
def pushed(stack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        outcome = failing_gate(tmp_path_factory.mktemp("run"), stack["gateway"].url, patch)
    assert outcome.exit_code == 1, outcome.result.errors
    return outcome


def test_the_pushed_run_is_in_the_pushgateway_with_its_labels(stack, pushed):
    targets = str(pushed.result.run["targets_file"])
    assert "/" in targets  # sent base64-encoded, stored decoded
    families = {f.name: f for f in text_string_to_metric_families(stack["gateway"].metrics())}
    [fail] = [s for s in families["perfgate_run_verdict"].samples if s.labels["verdict"] == "fail"]
    assert fail.labels == {"job": "perfgate", "targets": targets, "branch": "main",
                           "instance": "", "verdict": "fail"}
    assert fail.value == 1
    check = {(s.labels["check"], s.labels["verdict"]): s.value
             for s in families["perfgate_check_verdict"].samples}
    assert check[("api-latency", "fail")] == 1 and check[("errors", "pass")] == 1
    [value] = [s for s in families["perfgate_check_value"].samples
               if s.labels["check"] == "api-latency"]
    assert value.labels["scenario"] == "load" and value.value >= 20
    p95 = [s for s in families["perfgate_http_req_duration_seconds"].samples
           if s.labels.get("quantile") == "0.95"]
    assert p95[0].labels["scenario"] == "load" and 0.020 <= p95[0].value < 0.5


def test_a_failed_gate_fires_the_alert_and_pages_the_critical_receiver(stack, pushed, webhook):
    prometheus = stack["prometheus"]
    targets = str(pushed.result.run["targets_file"])
    [alert] = prometheus.wait_for(
        lambda: [a for a in prometheus.alerts() if a["labels"]["alertname"] == "PerfgateGateFailed"
                 and a["state"] == "firing"], what="PerfgateGateFailed firing")
    assert alert["labels"]["targets"] == targets
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == f"perfgate: the gate of {targets} failed"
    checks = prometheus.wait_for(
        lambda: [a["labels"]["check"] for a in prometheus.alerts()
                 if a["labels"]["alertname"] == "PerfgateCheckFailed"], what="check alert")
    assert checks == ["api-latency"]
    pages = prometheus.wait_for(
        lambda: [body for path, body in webhook.received if path == "/alerts/critical"],
        timeout=30, what="the critical receiver paged")
    assert pages[0]["commonLabels"]["alertname"] == "PerfgateGateFailed"
    assert pages[0]["commonLabels"]["targets"] == targets


def test_a_passing_run_replaces_the_failed_one_and_the_alert_stops(stack, pushed, tmp_path,
                                                                   monkeypatch):
    gateway, prometheus = stack["gateway"], stack["prometheus"]
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    result = pushed.result
    result.verdict, result.exit_code = "pass", 0
    config = PushgatewayConfig(url=gateway.url, grouping={"branch": "main"})
    PushgatewayReporter(config, run_context(), "pushgateway").report(result)
    families = {f.name: f for f in text_string_to_metric_families(gateway.metrics())}
    verdicts = {s.labels["verdict"]: s.value for s in families["perfgate_run_verdict"].samples}
    assert verdicts == {"pass": 1, "warn": 0, "fail": 0, "error": 0}  # replaced, not added
    prometheus.wait_for(lambda: not [a for a in prometheus.alerts()
                                     if a["labels"]["alertname"] == "PerfgateGateFailed"],
                        what="PerfgateGateFailed resolved")


def test_every_perfgate_metric_the_dashboards_query_is_pushed(stack, pushed):
    prometheus = stack["prometheus"]
    prometheus.wait_for_target("pushgateway")
    exported = set(prometheus.wait_for(
        lambda: "perfgate_run_verdict" in (names := prometheus.api("label/__name__/values"))
        and names, what="pushed metrics scraped"))
    wanted = set()
    for path in sorted((MONITORING / "grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                wanted |= {n for n in metric_names(target["expr"]) if n.startswith("perfgate_")}
    for path in sorted((MONITORING / "prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                wanted |= {n for n in metric_names(rule["expr"]) if n.startswith("perfgate_")}
    assert len(wanted) >= 10
    assert wanted <= exported, sorted(wanted - exported)


def test_an_unreachable_pushgateway_is_a_reporter_error(tmp_path, monkeypatch):
    outcome = failing_gate(tmp_path, f"http://127.0.0.1:{free_port()}", monkeypatch)
    assert outcome.exit_code == 3
    [error] = [e for e in outcome.result.errors if e.get("component") == "pushgateway"]
    assert "cannot push to http://127.0.0.1:" in error["message"]
    assert "ConnectError" in error["message"]
