"""A database that is down, a wrong password, a server that goes away mid-run.

Each gives a clear message that never contains a password; in a run, checks on the postgres
metrics become errors quoting it while the rest of the run completes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from perfgate import (
    ConfigError,
    DriverScenario,
    Kind,
    LoadDriver,
    MetricInfo,
    MetricSet,
    RunError,
    hookimpl,
)
from perfgate.testing import Listener, free_port, outside_address, run_context, run_targets
from perfgate_postgres import PostgresCollector, PostgresConfig

from .conftest import BOB_PASSWORD, MALLORY_PASSWORD


def assert_secret_free(texts: Any, *secrets: str) -> None:
    dumped = json.dumps(texts, default=str)
    for secret in secrets:
        assert secret not in dumped


def start_error(dsn: str, **options: Any) -> str:
    """The message of the collector's start error, as a run records it (masked)."""
    context = run_context()
    collector = PostgresCollector(PostgresConfig(dsn=dsn, **options), context)
    with pytest.raises(RunError) as info:
        collector.start()
    # No chained driver exception (whose text could carry connection details) is shown.
    error = info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return context.redact(str(info.value))


def test_database_down_closed_port() -> None:
    port = free_port()
    secret = "Hunter2-Closed-Port"
    message = start_error(f"host=127.0.0.1 port={port} dbname=test user=postgres "
                          f"password={secret}")
    assert message.startswith(f"postgres: connection refused: is the server running and "
                              f"listening there? (127.0.0.1:{port}/test as postgres)")
    assert_secret_free(message, secret)


def test_wrong_password_scram(stats_cluster) -> None:
    wrong = "Wrong-Horse-Battery"
    message = start_error(stats_cluster.dsn("app", user="bob", password=wrong))
    assert "authentication failed: check the user and password in the dsn" in message
    assert 'password authentication failed for user "bob"' in message
    assert_secret_free(message, wrong, BOB_PASSWORD)


def test_wrong_password_md5_in_a_url(stats_cluster) -> None:
    wrong = "Not/The:Password@All"
    from urllib.parse import quote

    dsn = (f"postgresql://mallory:{quote(wrong, safe='')}@127.0.0.1:{stats_cluster.port}/app")
    message = start_error(dsn)
    assert 'password authentication failed for user "mallory"' in message
    assert_secret_free(message, wrong, quote(wrong, safe=""), MALLORY_PASSWORD)


def test_right_password_works(stats_cluster) -> None:
    cfg = PostgresConfig(dsn=stats_cluster.dsn("app", user="bob", password=BOB_PASSWORD),
                         interval="100ms")
    collector = PostgresCollector(cfg, run_context())
    collector.start()
    metrics = collector.stop()
    assert collector.errors == []
    assert metrics.combined("postgres.connections").aggregate("max") >= 1
    assert_secret_free([collector.details(), metrics.to_list()], BOB_PASSWORD)


def test_missing_password(stats_cluster, monkeypatch) -> None:
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    message = start_error(stats_cluster.dsn("app", user="bob"))
    assert "the server wants a password and the dsn has none" in message


def test_unknown_database_in_the_filter(stats_cluster) -> None:
    message = start_error(stats_cluster.dsn(), databases=["app", "nope"])
    assert message == (f"postgres: no database named 'nope' on 127.0.0.1:{stats_cluster.port}"
                       "/postgres as postgres (listed under databases:)")


@pytest.mark.parametrize(("dsn", "secrets", "says"), [
    ("host=127.0.0.1 password='Unterminated-Secret", ["Unterminated-Secret"],
     "not a valid connection string"),
    # a '/' ends the host part: libpq would read "s3cr" as the port and quote it
    ("postgresql://app:s3cr/etpass@127.0.0.1/app", ["s3cr", "etpass"],
     "percent-encode it ('/' as %2F)"),
])
def test_malformed_dsn_is_a_file_error_that_quotes_nothing(dsn, secrets, says,
                                                           tmp_path) -> None:
    with pytest.raises(ValidationError) as info:
        PostgresConfig(dsn=dsn)
    (error,) = info.value.errors()
    assert says in error["msg"]
    assert_secret_free(error["msg"], *secrets)
    with pytest.raises(ConfigError) as loaded:
        run_targets({"version": 1, "collectors": {"postgres": {"dsn": dsn}}},
                    output_dir=tmp_path)
    message = str(loaded.value)
    assert "collectors.postgres.dsn" in message and says in message
    assert_secret_free(message, *secrets)


def test_server_goes_away_mid_run(plain_cluster) -> None:
    secret = "Trust-Ignores-This-Password"
    context = run_context()
    cfg = PostgresConfig(dsn=plain_cluster.dsn(password=secret), interval="100ms",
                         timeout="2s")
    collector = PostgresCollector(cfg, context)
    collector.start()
    time.sleep(0.5)
    assert collector.samples_ok >= 3
    plain_cluster.stop_server()
    time.sleep(0.5)
    metrics = collector.stop()
    assert len(collector.errors) == 2, collector.errors
    lost, summary = collector.errors
    assert lost.startswith(f"postgres: lost 127.0.0.1:{plain_cluster.port}/postgres as "
                           "postgres at ")
    assert "did not answer from" in summary and "are left out" in summary
    assert len(metrics) == 0  # partial numbers are not judged as if they covered the run
    assert collector.samples_failed >= 3
    # Without pg_stat_statements loaded the note says how to load it.
    assert any("add shared_preload_libraries = 'pg_stat_statements'" in n
               for n in context.notes())
    assert_secret_free([collector.errors, context.notes(), collector.details()], secret)


def test_server_that_comes_back_is_measured_again(plain_cluster) -> None:
    context = run_context()
    collector = PostgresCollector(
        PostgresConfig(dsn=plain_cluster.dsn(), interval="100ms"), context)
    collector.start()
    time.sleep(0.3)
    plain_cluster.stop_server()
    time.sleep(0.3)
    plain_cluster.start_server()
    time.sleep(0.5)
    metrics = collector.stop()
    assert len(collector.errors) == 1 and "lost" in collector.errors[0]
    assert any("answered again" in n for n in context.notes())
    assert metrics.combined("postgres.transactions").aggregate("count") > 0


# -- in a whole run ---------------------------------------------------------------------------

class PauseScenario(DriverScenario):
    seconds: float = 1.0


class PauseDriver(LoadDriver[PauseScenario]):
    """A load driver that only waits, and calls ``midway`` halfway through."""

    name = "pause"
    midway: ClassVar[Any] = None

    @classmethod
    def produces(cls, config: Any) -> list[MetricInfo]:
        return [MetricInfo("pause.iterations", Kind.COUNTER)]

    def run(self) -> MetricSet:
        scenario = self.config
        time.sleep(scenario.seconds / 2)
        if PauseDriver.midway is not None:
            PauseDriver.midway()
        time.sleep(scenario.seconds / 2)
        metrics = MetricSet()
        metrics.counter("pause.iterations").add(1)
        return metrics


class PausePlugin:
    @staticmethod
    @hookimpl
    def perfgate_register_components(register: Any) -> None:
        register(PauseDriver)


TARGETS = """
version: 1
scenarios:
  wait: {driver: pause, seconds: 1.2}
collectors:
  db: {type: postgres, dsn: "${env:PERFGATE_PG_DSN}", interval: 100ms}
targets:
  db-connections: {metric: postgres.connections_used, target: max < 80%}
  db-transactions: {metric: postgres.transactions, target: count >= 0}
  iterations: {metric: pause.iterations, target: count == 1}
reporters:
  json: {path: result.json}
"""


def run_with_postgres(dsn: str, tmp_path: Path, perfgate_plugin: Any) -> tuple[Any, dict]:
    import perfgate_postgres

    perfgate_plugin(perfgate_postgres)
    perfgate_plugin(PausePlugin)
    outcome = run_targets(TARGETS, output_dir=tmp_path, environ={"PERFGATE_PG_DSN": dsn})
    checks = {c.name: c for c in outcome.result.checks}
    return outcome, checks


def test_run_with_the_database_down(tmp_path, perfgate_plugin) -> None:
    secret = "Down-Db-Secret"
    port = free_port()
    outcome, checks = run_with_postgres(
        f"host=127.0.0.1 port={port} dbname=test user=postgres password={secret}",
        tmp_path, perfgate_plugin)
    assert checks["iterations"].verdict.value == "pass"
    for name in ("db-connections", "db-transactions", "db.connection-headroom"):
        assert checks[name].verdict.value == "error", name
        assert "connection refused" in checks[name].message
    assert outcome.exit_code == 3
    assert_secret_free((tmp_path / "result.json").read_text(), secret)


def test_run_where_the_database_goes_away(plain_cluster, tmp_path, perfgate_plugin) -> None:
    secret = "Going-Away-Secret"
    PauseDriver.midway = plain_cluster.stop_server
    try:
        outcome, checks = run_with_postgres(plain_cluster.dsn(password=secret), tmp_path,
                                            perfgate_plugin)
    finally:
        PauseDriver.midway = None
    assert checks["iterations"].verdict.value == "pass"
    for name in ("db-connections", "db-transactions"):
        assert checks[name].verdict.value == "error", name
        assert "did not answer from" in checks[name].message
    assert outcome.result.scenarios[0]["status"] == "completed"
    assert_secret_free((tmp_path / "result.json").read_text(), secret)


def test_run_with_the_database_up(plain_cluster, tmp_path, perfgate_plugin) -> None:
    outcome, checks = run_with_postgres(plain_cluster.dsn(), tmp_path, perfgate_plugin)
    assert {name: c.verdict.value for name, c in checks.items()
            if name != "db.cache-hit-ratio"} == {
        "db-connections": "pass", "db-transactions": "pass", "iterations": "pass",
        "db.connection-headroom": "pass", "db.query-p95": "skip"}
    # The cache hit ratio of a brand-new cluster is low; its built-in check only warns.
    assert checks["db.cache-hit-ratio"].verdict.value in ("pass", "warn")
    assert outcome.exit_code == 0, [c.message for c in outcome.result.checks]
    details = json.loads((tmp_path / "result.json").read_text())["details"]["db"]
    assert details["pg_stat_statements"] is False


def test_a_server_that_stops_answering_does_not_hold_up_the_run(plain_cluster) -> None:
    """A frozen backend (SIGSTOP): the sample is cut after ``timeout``, then it recovers."""
    context = run_context()
    collector = PostgresCollector(
        PostgresConfig(dsn=plain_cluster.dsn(), interval="100ms", timeout="1s"), context)
    collector.start()
    with plain_cluster.connect() as conn:
        pid = conn.execute("SELECT pid FROM pg_stat_activity "
                           "WHERE application_name = 'perfgate-postgres'").fetchone()[0]
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(1.6)
        assert collector.errors and "no answer within 1s" in collector.errors[0]
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(0.8)  # it reconnects on a new backend
    started = time.monotonic()
    metrics = collector.stop()
    assert time.monotonic() - started < 3
    assert any("answered again" in note for note in context.notes())
    assert metrics.combined("postgres.connections").count > 0


@pytest.mark.parametrize("where", ["host={host} port={port}",
                                   "host=127.0.0.1,{host} port={port}",
                                   "host=db.example.com hostaddr={host} port={port}"])
def test_a_host_that_is_not_allowed_is_refused_before_anything_is_sent(where) -> None:
    secret = "Hunter2-Outside"
    with Listener() as outside:
        dsn = where.format(host=outside.host, port=outside.port)
        message = start_error(f"{dsn} dbname=test user=postgres password={secret}")
    refused = "db.example.com" if "hostaddr" in where else outside.host
    assert message.startswith(f"postgres: refusing to send load to {refused!r}"), message
    assert outside.connections == 0  # the password never left
    assert_secret_free(message, secret)


def test_a_loopback_name_that_resolves_elsewhere_is_refused(monkeypatch) -> None:
    outside = outside_address()
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # as a resolver that does not keep .localhost local
        return real(outside if host == "db.localhost" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with Listener(outside) as listener:
        message = start_error(f"host=db.localhost port={listener.port} dbname=test "
                              "user=postgres password=Hunter2-Rebound")
    assert message.startswith(f"postgres: refusing to talk to 'db.localhost': it resolved "
                              f"to {outside}, which is not a loopback address")
    assert listener.connections == 0


def test_the_address_connected_to_is_checked(monkeypatch) -> None:
    # libpq connects on its own: what it reached (conn.info.hostaddr) is checked too. The
    # server is on loopback, so a run context that allows nothing but loopback accepts it;
    # one whose check says otherwise refuses it after connecting.
    seen = []
    context = run_context()
    original = context.check_connected

    def check(host: str, address: str) -> None:
        seen.append((host, address))
        original(host, address)

    monkeypatch.setattr(context, "check_connected", check)
    collector = PostgresCollector(PostgresConfig(
        dsn="host=localhost port=5432 dbname=test user=postgres"), context)
    collector.start()
    collector.stop()
    assert seen and seen[0][0] == "localhost" and seen[0][1] in ("127.0.0.1", "::1")
