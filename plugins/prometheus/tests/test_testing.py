"""The test servers start on free loopback ports, work, and leave nothing behind."""

from __future__ import annotations

import socket

import pytest

from perfgate_prometheus.testing import (
    Alertmanager,
    PrometheusServer,
    Pushgateway,
    ServerError,
    find_binary,
    requires,
    scrape_config,
)

pytestmark = requires("prometheus", "prometheus-pushgateway", "prometheus-alertmanager")


def refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_prometheus_scrapes_a_pushgateway_and_both_stop_by_pid():
    with Pushgateway() as gateway:
        config = scrape_config(("pushgateway", [gateway.address], {"honor_labels": True}))
        with PrometheusServer(config) as prometheus:
            prometheus.wait_for_target("pushgateway")
            [up] = prometheus.query('up{job="pushgateway"}')
            assert up["value"][1] == "1"
            folder, port = prometheus.folder, prometheus.port
        assert folder is not None and not folder.exists()
        assert refused(port)
    assert refused(gateway.port)


def test_pushgateways_share_nothing():
    with Pushgateway() as one, Pushgateway() as two:
        response = one.http.put(one.url + "/metrics/job/only-one", content=b"pushed_once 1\n")
        assert response.status_code == 200
        assert "pushed_once" in one.metrics()
        assert "pushed_once" not in two.metrics()


def test_a_server_that_cannot_start_says_why():
    with pytest.raises(ServerError, match="exited with"):  # noqa: SIM117
        with Alertmanager("route: [not a route]\n"):
            pass


def test_promtool_is_installed():
    assert find_binary("promtool") is not None
    assert find_binary("amtool") is not None
