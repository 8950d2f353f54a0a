"""Config model, declared metrics, built-in targets and URL handling."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from perfgate.plugins import PluginHost, extra_plugins
from perfgate.testing import run_context
from perfgate.thresholds import parse_threshold
from perfgate_redis import RedisCollector, RedisConfig
from perfgate_redis.url import RedisURL


def test_config_keeps_the_url_secret() -> None:
    cfg = RedisConfig(url="redis://:do-not-print@127.0.0.1:6379/0", interval="250ms")
    assert cfg.interval == 0.25
    assert "do-not-print" not in repr(cfg) and "do-not-print" not in str(cfg.model_dump())


@pytest.mark.parametrize("options", [{"interval": "0s"}, {"probes": -1}, {"extra": True}])
def test_config_rejects(options: dict) -> None:
    with pytest.raises(ValidationError):
        RedisConfig(url="redis://127.0.0.1", **options)


def test_builtin_targets_follow_the_plan() -> None:
    cfg = RedisConfig(url="redis://127.0.0.1")
    produced = {m.name: m for m in RedisCollector.produces(cfg)}
    targets = RedisCollector.builtin_targets(cfg)
    assert (targets["hit-rate"].target, targets["hit-rate"].critical) == ("rate > 80%",
                                                                          "rate > 50%")
    assert targets["memory"].target == "max < 512MB"
    for spec in targets.values():
        info = produced[spec.metric]
        for expression in filter(None, (spec.target, spec.critical)):
            assert parse_threshold(expression).check_applies(info.kind, info.unit) is None
    assert parse_threshold("max < 512MB").limit(info.kind, "B") == 512 * 1024 * 1024
    assert RedisCollector.builtin_targets(RedisConfig(url="redis://h",
                                                      builtin_targets=False)) == {}


@pytest.mark.parametrize(("url", "described"), [
    ("redis://:pw-123456@127.0.0.1:6380/3", "127.0.0.1:6380/3"),
    ("rediss://user:pw-123456@cache.internal", "cache.internal:6379/0"),
    ("unix:///run/redis.sock?db=2&password=pw-123456", "/run/redis.sock"),
])
def test_url_described_without_the_password(url: str, described: str) -> None:
    target = RedisURL(url)
    assert target.describe() == described
    collector = RedisCollector(RedisConfig(url=url), run_context())
    collector.fail(f"boom {url} pw-123456")
    assert "pw-123456" not in collector.errors[0]


def test_url_encoded_password_is_masked_both_ways() -> None:
    collector = RedisCollector(RedisConfig(url="redis://:p%40ss%3Aword@127.0.0.1:6379/0"),
                               run_context())
    collector.fail("p@ss:word and p%40ss%3Aword")
    assert collector.errors == ["*** and ***"]


def test_registered_through_the_hook() -> None:
    import perfgate_redis

    with extra_plugins(perfgate_redis):
        host = PluginHost.load()
    assert host.registry.get("collector", "redis") is RedisCollector
