"""Fixtures: one ground-truth server per module, and a driver runner with a real RunContext."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from perfgate import MetricSet, RunContext
from perfgate.testing import run_context
from perfgate_aiohttp_api import HttpDriver, HttpScenario
from perfgate_aiohttp_api.groundtruth import RunningServer, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as srv:
        yield srv


def _make_context(services: dict[str, str] | None = None, allow_hosts: list[str] | None = None,
                 time_scale: float = 1.0) -> RunContext:
    return run_context(services=services, allow_hosts=tuple(allow_hosts or ()),
                       time_scale=time_scale, progress=False)


@pytest.fixture
def drive(server: RunningServer) -> Callable[..., tuple[MetricSet, HttpDriver]]:
    """``drive({...scenario...})`` runs the http driver against the ground-truth server."""

    def run(scenario: dict[str, Any], time_scale: float = 1.0,
            context: RunContext | None = None) -> tuple[MetricSet, HttpDriver]:
        scenario = {"driver": "http", "service": "gt", **scenario}
        cfg = HttpScenario.model_validate(scenario)
        ctx = context or _make_context({"gt": server.url}, time_scale=time_scale)
        driver = HttpDriver(cfg, ctx, "load")
        return driver.run(), driver

    server.reset()
    return run


def _value(metrics: MetricSet, name: str, aggregation: str, tags: dict[str, str] | None = None,
          percentile: float | None = None) -> float | None:
    metric = metrics.combined(name, tags)
    assert metric is not None, f"{name}{tags or ''} was not measured"
    return metric.aggregate(aggregation, percentile)


@pytest.fixture
def make_context() -> Callable[..., RunContext]:
    """``make_context(services={}, allow_hosts=[], time_scale=1.0)``: a real RunContext."""
    return _make_context


@pytest.fixture
def value() -> Callable[..., float | None]:
    """``value(metrics, name, aggregation, tags=None, percentile=None)``, all series merged."""
    return _value
