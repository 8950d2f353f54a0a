"""perfgate-prometheus: perfgate and Prometheus.

``perfgate_prometheus.testing`` starts real Prometheus, Pushgateway, Alertmanager and node
exporter servers for tests.
"""
