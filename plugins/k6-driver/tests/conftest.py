"""Shared fixtures: the ground-truth server and k6 runs through perfgate.

The ground-truth server (``perfgate_aiohttp_api.groundtruth``) answers ``/delay/{ms}`` after
exactly that long and fails exactly the first ``k`` of every ``n`` calls to ``/errors/{k}/{n}``,
so what k6 measured, read through perfgate, can be compared with what really happened.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from perfgate.result import validate_result
from perfgate.testing import RunOutcome, run_targets

groundtruth = pytest.importorskip("perfgate_aiohttp_api.groundtruth",
                                  reason="the ground-truth server comes with perfgate-aiohttp-api")

RunK6 = Callable[..., RunOutcome]


@pytest.fixture(scope="session")
def server() -> Iterator[Any]:
    """One ground-truth server for the session, stopped by PID at the end."""
    with groundtruth.running_server() as running:
        yield running


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str], Path]:
    """``script(js)`` writes a k6 script into the test's folder and returns its path."""
    def write(body: str, name: str = "script.js") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return path
    return write


@pytest.fixture
def run_k6(tmp_path: Path, server: Any) -> RunK6:
    """``run_k6(scenario_options, targets=..., time_scale=..., validators=...)``: one k6
    scenario named ``s`` against the ground-truth server, run through perfgate; the JSON
    result is schema-checked. The targets file lists no ``validators:`` unless given: the
    ``k6`` validator comes with the driver."""
    def run(scenario: dict[str, Any], targets: dict[str, Any] | None = None,
            time_scale: float = 1.0,
            validators: dict[str, Any] | None = None) -> RunOutcome:
        doc = {
            "version": 1,
            "services": {"gt": {"url": server.url}},
            "scenarios": {"s": {"driver": "k6", "service": "gt", **scenario}},
            "targets": targets or {},
            "reporters": {"json": {"path": "result.json"}},
        }
        if validators is not None:
            doc["validators"] = validators
        outcome = run_targets(doc, output_dir=tmp_path, time_scale=time_scale)
        validate_result(json.loads((tmp_path / "result.json").read_text()))
        return outcome
    return run
