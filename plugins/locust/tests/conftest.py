"""Fixtures: one ground-truth server for the module, and a runner of locust scenarios."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from perfgate.testing import run_targets
from perfgate_aiohttp_api.groundtruth import RunningServer, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as srv:
        yield srv


@pytest.fixture
def run_locust(server: RunningServer, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``run_locust({...scenario...}, targets={...})`` against the ground-truth server."""
    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    import perfgate_aiohttp_api
    import perfgate_locust

    def run(scenario: dict[str, Any], targets: dict[str, Any] | None = None,
            **options: Any) -> Any:
        doc = {"version": 1,
               "services": {"gt": {"url": server.url}},
               "scenarios": {"load": {"driver": "locust", "service": "gt", **scenario}},
               "targets": targets or {},
               "reporters": {"json": {"path": "result.json"}}}
        return run_targets(doc, output_dir=tmp_path, plugins=[perfgate_locust,
                                                              perfgate_aiohttp_api], **options)

    server.reset()
    return run


def _nearest_rank(values: list[float], p: float) -> float:
    """The sample at the rank an HDR histogram answers for ``p`` (nearest rank, rounded)."""
    ordered = sorted(values)
    return ordered[max(1, int(p / 100 * len(ordered) + 0.5)) - 1]


@pytest.fixture
def nearest_rank() -> Callable[[list[float], float], float]:
    """``nearest_rank(values, p)``: the exact p-th percentile as perfgate's histograms define it."""
    return _nearest_rank
