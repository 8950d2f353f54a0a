"""perfgate-prometheus: perfgate and Prometheus.

- the ``prometheus`` collector runs PromQL over the run window: the server's own view of the
  run (its p95 from its histogram, its error rate, its saturation) beside the load
  generator's;
- the ``pushgateway`` reporter pushes each run's verdicts, checks and key metrics to a
  Pushgateway, so dashboards show gate runs and alerts can use them.

``perfgate_prometheus.testing`` starts real Prometheus, Pushgateway, Alertmanager and node
exporter servers for tests.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_prometheus.collector import PrometheusCollector, PrometheusConfig, QuerySpec
from perfgate_prometheus.pushgateway import PushgatewayConfig, PushgatewayReporter

__all__ = ["PrometheusCollector", "PrometheusConfig", "PushgatewayConfig",
           "PushgatewayReporter", "QuerySpec", "perfgate_register_components"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``prometheus`` collector and the ``pushgateway`` reporter."""
    register(PrometheusCollector)
    register(PushgatewayReporter)
