"""Core test setup: a plugin host that sees only the built-ins and the test plugins.

Installed plugins (whatever ``./dev install`` put in the venv) are kept out with
``PERFGATE_NO_ENTRYPOINTS=1`` so that error messages listing "installed" components are exact.
Two test plugins are registered on top:

- ``gateplugin`` (tests/e2e/gateplugin.py): the ``synthetic`` driver and ``crashy`` collector;
- :data:`stub_http`, defined here: a driver with k6-shaped scenario keys (``executor``,
  ``vus``, ``duration``) that produces the ``http.*`` metrics and never runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from perfgate import DriverScenario, Duration, Kind, LoadDriver, MetricInfo, MetricSet, hookimpl
from perfgate.plugins import extra_plugins

REPO = Path(__file__).resolve().parents[2]
E2E = REPO / "tests" / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

import gateplugin  # noqa: E402


class StubHttpScenario(DriverScenario):
    executor: Literal["constant-vus", "ramping-vus"] = "constant-vus"
    vus: int = 1
    duration: Duration = 1.0


class StubHttpDriver(LoadDriver[StubHttpScenario]):
    """Declares the http.* metrics of a k6-like driver; loading files is all it is for."""

    name = "stub-http"
    summary = "k6-shaped scenario keys, runs nothing (tests only)"

    @classmethod
    def produces(cls, config: StubHttpScenario) -> list[MetricInfo]:
        return [MetricInfo("http.req_duration", Kind.TREND, "ms"),
                MetricInfo("http.req_failed", Kind.RATE, "ratio"),
                MetricInfo("http.reqs", Kind.COUNTER, ""),
                MetricInfo("data_received", Kind.COUNTER, "B")]

    def run(self) -> MetricSet:
        raise AssertionError("core tests never run the stub-http driver")


class _StubHttpPlugin:
    @hookimpl
    def perfgate_register_components(self, register) -> None:
        register(StubHttpDriver)


stub_http = _StubHttpPlugin()


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the built-ins, ``gateplugin`` and ``stub_http`` are installed for this test."""
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    monkeypatch.delenv("PERFGATE_PLUGINS", raising=False)
    monkeypatch.delenv("PERFGATE_DISABLE_PLUGINS", raising=False)
    with extra_plugins(gateplugin, stub_http):
        yield
