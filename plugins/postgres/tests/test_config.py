"""Config model, declared metrics and built-in targets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from perfgate import hookimpl
from perfgate.plugins import PluginHost, extra_plugins
from perfgate.thresholds import parse_threshold
from perfgate_postgres import PostgresCollector, PostgresConfig


def test_config_defaults_and_secret_dsn() -> None:
    cfg = PostgresConfig(dsn="host=h password=do-not-print", interval="500ms")
    assert cfg.interval == 0.5
    assert cfg.top_statements == 10
    assert "do-not-print" not in repr(cfg)
    assert "do-not-print" not in str(cfg.model_dump())


@pytest.mark.parametrize("options", [
    {"interval": "0s"}, {"databases": []}, {"top_statements": -1}, {"unknown": 1},
])
def test_config_rejects(options: dict) -> None:
    with pytest.raises(ValidationError):
        PostgresConfig(dsn="host=h", **options)


def test_builtin_targets_apply_to_declared_metrics() -> None:
    cfg = PostgresConfig(dsn="host=h")
    produced = {m.name: m for m in PostgresCollector.produces(cfg)}
    targets = PostgresCollector.builtin_targets(cfg)
    assert set(targets) == {"query-p95", "connection-headroom", "cache-hit-ratio"}
    assert targets["query-p95"].target == "p(95) < 100ms"
    assert targets["query-p95"].critical == "p(95) < 500ms"
    for spec in targets.values():
        info = produced[spec.metric]
        for expression in filter(None, (spec.target, spec.critical)):
            assert parse_threshold(expression).check_applies(info.kind, info.unit) is None
    off = PostgresConfig(dsn="host=h", builtin_targets=False)
    assert PostgresCollector.builtin_targets(off) == {}


def test_registered_through_the_hook() -> None:
    import perfgate_postgres

    with extra_plugins(perfgate_postgres):
        host = PluginHost.load()
    assert host.registry.get("collector", "postgres") is PostgresCollector
    assert hookimpl  # the plugin uses perfgate's marker
