"""examples/db/targets.yml: the demo service, the http driver and both collectors, for real."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "targets.yml"
PG_DSN = os.environ.get("PERFGATE_TEST_PG_DSN",
                        "host=127.0.0.1 port=5432 dbname=test user=postgres")
REDIS_URL = os.environ.get("PERFGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _need(module: str, distribution: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{distribution} is not installed")


def test_the_file_is_valid():
    for module, dist in (("perfgate_aiohttp_api", "perfgate-aiohttp-api"),
                         ("perfgate_postgres", "perfgate-postgres"),
                         ("perfgate_redis", "perfgate-redis")):
        _need(module, dist)
    from perfgate.loader import load_targets
    from perfgate.plugins import PluginHost

    targets = load_targets(EXAMPLE, PluginHost.load(), {"PERFGATE_PG_DSN": PG_DSN})
    assert set(targets.collectors) == {"system", "postgres", "redis"}
    names = {t.name for t in targets.targets}
    assert {"postgres.query-p95", "postgres.connection-headroom", "redis.hit-rate",
            "redis.memory"} <= names


@pytest.mark.slow
def test_the_example_runs(tmp_path):
    for module, dist in (("perfgate_aiohttp_api", "perfgate-aiohttp-api"),
                         ("demo_app", "perfgate-demo-app"),
                         ("perfgate_postgres", "perfgate-postgres"),
                         ("perfgate_redis", "perfgate-redis")):
        _need(module, dist)
    from perfgate.testing import run_targets

    text = EXAMPLE.read_text().replace("8010", str(_free_port()))
    (tmp_path / "targets.yml").write_text(text)
    secret = "Example-Run-Secret"
    outcome = run_targets(tmp_path / "targets.yml", output_dir=tmp_path / "out",
                          time_scale=0.1,
                          environ={**os.environ, "PERFGATE_PG_DSN": f"{PG_DSN} password={secret}",
                                   "PERFGATE_REDIS_URL": REDIS_URL})
    checks = {c.name: c for c in outcome.result.checks}
    verdicts = {name: c.verdict.value for name, c in checks.items()}
    assert "error" not in verdicts.values(), {n: c.message for n, c in checks.items()}
    for name in ("db-deadlocks", "postgres.connection-headroom", "redis.memory",
                 "error-rate"):
        assert verdicts[name] == "pass", (name, checks[name].message)
    for name in ("db-responsive", "cache-responsive", "api-latency"):
        assert verdicts[name] in ("pass", "warn"), (name, checks[name].message)
    assert outcome.exit_code == 0
    document = (tmp_path / "out" / "reports" / "db-result.json").read_text()
    assert secret not in document
    details = json.loads(document)["details"]
    assert details["postgres"]["samples"] >= 2 and details["redis"]["samples"] >= 2
