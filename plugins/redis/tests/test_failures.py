"""A server that is down, a wrong or missing password, a server that goes away mid-run."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from typing import Any

import pytest
from pydantic import ValidationError

from perfgate import ConfigError, RunError
from perfgate.testing import Listener, free_port, outside_address, run_context, run_targets
from perfgate_redis import RedisCollector, RedisConfig

PASSWORD = "Right-Redis-Password"


def assert_secret_free(texts: Any, *secrets: str) -> None:
    dumped = json.dumps(texts, default=str)
    for secret in secrets:
        assert secret not in dumped


def start_error(url: str) -> str:
    collector = RedisCollector(RedisConfig(url=url, timeout="2s"), run_context())
    with pytest.raises(RunError) as info:
        collector.start()
    error = info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return str(error)


def test_server_down_closed_port() -> None:
    port = free_port()
    message = start_error(f"redis://:Closed-Port-Secret@127.0.0.1:{port}/0")
    assert message.startswith(f"redis: connection refused: is the server running and "
                              f"listening there? (127.0.0.1:{port}/0)")
    assert_secret_free(message, "Closed-Port-Secret")


def test_wrong_password(make_redis) -> None:
    server = make_redis(password=PASSWORD)
    wrong = "Wrong-Redis-Password"
    message = start_error(server.url(password=wrong))
    assert message.startswith("redis: authentication failed: check the user and password")
    assert_secret_free(message, wrong, PASSWORD)


def test_missing_password(make_redis) -> None:
    server = make_redis(password=PASSWORD)
    message = start_error(server.url())
    assert message.startswith("redis: authentication failed")
    assert_secret_free(message, PASSWORD)


def test_right_password(make_redis, run_collector) -> None:
    server = make_redis(password=PASSWORD)
    collector, metrics = run_collector(
        RedisConfig(url=server.url(password=PASSWORD), interval="100ms"), lambda: None)
    assert collector.errors == []
    assert metrics.combined("redis.memory_used").count >= 2
    assert_secret_free([collector.details(), metrics.to_list()], PASSWORD)


@pytest.mark.parametrize(("url", "secrets", "says"), [
    ("http://user:Http-Secret@127.0.0.1:6379/0", ["Http-Secret"], "not a valid Redis URL"),
    # a '/' ends the host part: the parser reads "s3cr" as the port, and says so
    ("redis://:s3cr/etpass@127.0.0.1:6379/0", ["s3cr", "etpass"], "percent-encode it ('/' as "
                                                                   "%2F)"),
])
def test_not_a_redis_url_is_a_file_error_that_quotes_nothing(url, secrets, says,
                                                             tmp_path) -> None:
    with pytest.raises(ValidationError) as info:
        RedisConfig(url=url)
    (error,) = info.value.errors()
    assert says in error["msg"]
    assert_secret_free(error["msg"], *secrets)
    # as a targets file, a file error (exit 2) with its place, before anything starts
    with pytest.raises(ConfigError) as loaded:
        run_targets(f"version: 1\ncollectors:\n  redis: {{url: '{url}'}}\n",
                    output_dir=tmp_path)
    message = str(loaded.value)
    assert "targets.yml:3:" in message and "collectors.redis.url" in message
    assert says in message
    assert_secret_free(message, *secrets)


def test_server_goes_away_mid_run(make_redis) -> None:
    server = make_redis(password=PASSWORD)
    context = run_context()
    collector = RedisCollector(
        RedisConfig(url=server.url(password=PASSWORD), interval="100ms", timeout="1s"),
        context)
    collector.start()
    time.sleep(0.4)
    assert collector.samples_ok >= 3
    server.stop()
    time.sleep(0.4)
    metrics = collector.stop()
    assert len(collector.errors) == 2, collector.errors
    lost, summary = collector.errors
    assert lost.startswith(f"redis: lost 127.0.0.1:{server.port}/0 at ")
    assert "did not answer from" in summary and "are left out" in summary
    assert len(metrics) == 0
    assert_secret_free([collector.errors, context.notes(), collector.details()], PASSWORD)


def test_server_that_comes_back_is_measured_again(make_redis) -> None:
    server = make_redis()
    context = run_context()
    collector = RedisCollector(RedisConfig(url=server.url(), interval="100ms"), context)
    collector.start()
    time.sleep(0.3)
    server.stop()
    time.sleep(0.3)
    server.start()  # same port, a new run_id: counters start again from zero
    client = server.client()
    client.get("x")
    time.sleep(0.4)
    metrics = collector.stop()
    assert len(collector.errors) == 1 and "lost" in collector.errors[0]
    assert any("answered again" in note for note in context.notes())
    assert metrics.combined("redis.hit_rate").total >= 1


def test_in_a_run_the_redis_checks_error_and_the_run_completes(tmp_path) -> None:
    import perfgate_redis

    port = free_port()
    outcome = run_targets("""
        version: 1
        collectors:
          cache: {type: redis, url: "${env:PERFGATE_REDIS_URL}", interval: 100ms}
        targets:
          cache-hits: {metric: redis.hit_rate, target: rate > 80%}
        reporters:
          json: {path: result.json}
        """, output_dir=tmp_path, plugins=(perfgate_redis,),
        environ={"PERFGATE_REDIS_URL": f"redis://:Run-Secret@127.0.0.1:{port}/0"})
    verdicts = {c.name: (c.verdict.value, c.message) for c in outcome.result.checks}
    assert set(verdicts) == {"cache-hits", "cache.hit-rate", "cache.memory"}
    for name, (verdict, message) in verdicts.items():
        assert verdict == "error", name
        assert "connection refused" in message and f"127.0.0.1:{port}/0" in message
    assert outcome.exit_code == 3
    report = (tmp_path / "result.json").read_text()  # the reports are still written
    assert_secret_free(report, "Run-Secret")
    assert json.loads(report)["errors"][0]["component"] == "cache"


def test_a_server_that_stops_answering_does_not_hold_up_the_run(make_redis) -> None:
    """A frozen server (SIGSTOP): the sample times out after ``timeout``, then it recovers."""
    server = make_redis()
    context = run_context()
    collector = RedisCollector(RedisConfig(url=server.url(), interval="100ms", timeout="1s"),
                               context)
    collector.start()
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        time.sleep(1.6)
        assert collector.errors and "no answer within 1s" in collector.errors[0]
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    time.sleep(0.6)
    started = time.monotonic()
    metrics = collector.stop()
    assert time.monotonic() - started < 3
    assert any("answered again" in note for note in context.notes())
    assert metrics.combined("redis.memory_used").count > 0


def test_a_host_that_is_not_allowed_is_refused_before_anything_is_sent() -> None:
    with Listener() as outside:
        message = start_error(f"redis://:Outside-Secret@{outside.host}:{outside.port}/0")
    assert message.startswith(f"redis: refusing to send load to {outside.host!r}")
    assert outside.connections == 0  # the password never left
    assert_secret_free(message, "Outside-Secret")


def test_a_loopback_name_that_resolves_elsewhere_is_refused(make_redis, monkeypatch) -> None:
    # A real Redis on this machine's outside address, and a resolver that answers the
    # first look-up with loopback, then with the outside address (DNS rebinding): the
    # collector checks the address its connection reached.
    outside = outside_address()
    server = make_redis(password=PASSWORD, bind=f"127.0.0.1 {outside}")
    real = socket.getaddrinfo
    answers = ["127.0.0.1"]

    def resolve(host, *args, **kwargs):
        if host == "cache.localhost":
            host = answers.pop() if answers else outside
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    message = start_error(f"redis://:{PASSWORD}@cache.localhost:{server.port}/0")
    assert message == (f"redis: refusing to talk to 'cache.localhost': it resolved to "
                       f"{outside}, which is not a loopback address, and the host is not "
                       "listed under allow_hosts: in the targets file")
    # Resolving elsewhere from the start is refused before connecting.
    answers.clear()
    with Listener(outside) as listener:
        message = start_error(f"redis://:{PASSWORD}@cache.localhost:{listener.port}/0")
    assert f"it resolved to {outside}" in message and listener.connections == 0
