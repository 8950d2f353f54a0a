"""perfgate-prometheus: perfgate and Prometheus.

- the ``prometheus`` collector runs PromQL over the run window: the server's own view of the
  run (its p95 from its histogram, its error rate, its saturation) beside the load
  generator's;
- the ``pushgateway`` reporter pushes each run's verdicts, checks and key metrics to a
  Pushgateway, so dashboards show gate runs and alerts can use them; the ``remote-write``
  reporter writes the same into Prometheus (every run kept, not only the last).

``perfgate_prometheus.testing`` starts real Prometheus, Pushgateway, Alertmanager and node
exporter servers for tests.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_prometheus.collector import PrometheusCollector, PrometheusConfig, QuerySpec
from perfgate_prometheus.pushgateway import PushgatewayConfig, PushgatewayReporter
from perfgate_prometheus.remote_write import RemoteWriteConfig, RemoteWriteReporter

__all__ = ["PrometheusCollector", "PrometheusConfig", "PushgatewayConfig",
           "PushgatewayReporter", "QuerySpec", "RemoteWriteConfig", "RemoteWriteReporter",
           "perfgate_register_components"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``prometheus`` collector, the ``pushgateway`` and ``remote-write``
    reporters."""
    register(PrometheusCollector)
    register(PushgatewayReporter)
    register(RemoteWriteReporter)
