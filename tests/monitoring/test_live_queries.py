"""Every query of the dashboards and rules runs on a real Prometheus that scrapes the demo
service and a node exporter, and every metric a query names is one they really export.

The gate-run metrics (``perfgate_*``) are checked against a real push in the prometheus
plugin's tests (``plugins/prometheus/tests/test_dashboards_and_push.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from promql import fill_grafana_variables, metric_names

from perfgate_prometheus.testing import NodeExporter, PrometheusServer, requires, scrape_config

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "monitoring/grafana/dashboards").glob("*.json"))
RULES = sorted((ROOT / "monitoring/prometheus/rules").glob("*.yml"))

pytestmark = requires("prometheus", "prometheus-node-exporter")


def dashboard_queries() -> list[tuple[str, str]]:
    return [(f"{path.stem}: {panel['title']}", target["expr"])
            for path in DASHBOARDS for panel in json.loads(path.read_text())["panels"]
            for target in panel["targets"]]


def rule_queries() -> list[tuple[str, str]]:
    return [(f"{path.stem}: {rule.get('alert') or rule.get('record')}", rule["expr"])
            for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def recorded() -> set[str]:
    return {rule["record"] for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "record" in rule}


def exercise(url: str) -> None:
    """Requests of every kind the dashboards show: reads, writes, 5xx, sign-in, the page."""
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        for path in ["/api/records", "/api/records/1", "/api/records/1", "/", "/static/app.js",
                     "/api/slow?ms=5", "/health"]:
            client.get(path)
        for _ in range(4):
            client.get("/api/flaky?fail=50")
        client.post("/api/records", json={"name": "x", "value": 1})
        client.post("/api/login", json={"username": "ada", "password": "demo"})


@pytest.fixture(scope="module")
def prometheus(demo_url: str) -> Iterator[PrometheusServer]:
    exercise(demo_url)
    with NodeExporter() as node:
        config = scrape_config(("demo-app", [demo_url.removeprefix("http://")]),
                               ("node", [node.address]))
        with PrometheusServer(config) as server:
            server.wait_for_target("demo-app")
            server.wait_for_target("node")
            # two scrapes of everything, so rate() has two points
            server.wait_for(lambda: server.query("count(up) == 2 and "
                                                 "min(count_over_time(up[1m])) >= 3"),
                            what="three scrapes")
            yield server


@pytest.fixture(scope="module")
def exported(prometheus: PrometheusServer) -> set[str]:
    return set(prometheus.api("label/__name__/values"))


def test_the_demo_and_the_node_exporter_export_what_the_stack_expects(exported):
    for name in ["demo_http_request_duration_seconds_bucket", "demo_http_requests_in_flight",
                 "demo_db_query_duration_seconds_count", "demo_cache_hits_total",
                 "node_cpu_seconds_total", "node_memory_MemAvailable_bytes"]:
        assert name in exported


@pytest.mark.parametrize(("where", "expr"), [
    pytest.param(where, expr, id=where) for where, expr in dashboard_queries() + rule_queries()])
def test_a_query_runs_and_names_only_exported_metrics(prometheus, exported, where, expr):
    prometheus.query(fill_grafana_variables(expr))  # raises on a PromQL error
    names = metric_names(expr) - recorded()
    missing = {n for n in names if not n.startswith("perfgate_")} - exported
    assert not missing, f"{where}: {sorted(missing)} not exported"


def test_the_demo_panels_show_data(prometheus):
    # Not only valid: the main panels have numbers for the traffic sent above.
    for where, expr in dashboard_queries():
        if where.startswith(("api-performance: Requests per second", "cache: Hit rate",
                             "database: Queries per second", "system: Host CPU",
                             "user-experience: Apdex")):
            result = prometheus.query(fill_grafana_variables(expr))
            assert result, f"{where}: no data"
