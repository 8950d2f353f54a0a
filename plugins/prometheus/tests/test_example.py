"""examples/monitoring/targets.yml, for real: the demo service under load, a Prometheus
scraping it, the server's view judged beside the client's, the run pushed."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

import perfgate_aiohttp_api
import perfgate_prometheus
from perfgate.testing import free_port, run_targets
from perfgate_prometheus.testing import PrometheusServer, Pushgateway, requires, scrape_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "monitoring" / "targets.yml"

pytestmark = requires("prometheus", "prometheus-pushgateway")


def test_the_example_judges_both_views_and_pushes_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    port = free_port()
    with Pushgateway() as gateway, PrometheusServer(
            scrape_config(("demo-app", [f"127.0.0.1:{port}"]))) as prometheus:
        prometheus.wait_for_discovery("demo-app")  # down until perfgate starts the demo
        outcome = run_targets(EXAMPLE, output_dir=tmp_path, time_scale=0.25,
                              plugins=[perfgate_prometheus, perfgate_aiohttp_api],
                              environ={"DEMO_PORT": str(port),
                                       "PERFGATE_PROMETHEUS_URL": prometheus.url,
                                       "PERFGATE_PUSHGATEWAY_URL": gateway.url})
        pushed = gateway.metrics()
    checks = {c.name: c for c in outcome.result.checks}
    for name in ["client-p95", "server-p95", "server-avg", "server-errors", "cache-hit-rate",
                 "throughput"]:
        assert checks[name].verdict.value == "pass", (name, checks[name].message)
    assert checks["server-errors"].measured == 0
    assert checks["cache-hit-rate"].measured > 0.95  # one page, read over and over
    assert set(outcome.result.details["load"]["slowest"]) == {"records", "slow"}
    verdicts = [s for f in text_string_to_metric_families(pushed)
                if f.name == "perfgate_run_verdict" for s in f.samples if s.value == 1]
    assert [s.labels["verdict"] for s in verdicts] == [outcome.result.verdict]
