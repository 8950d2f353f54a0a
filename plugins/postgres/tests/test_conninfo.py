"""Secrets never leave the collector: DSN descriptions, and messages masked by perfgate."""

from __future__ import annotations

from perfgate.testing import run_context
from perfgate_postgres import PostgresCollector, PostgresConfig
from perfgate_postgres.conninfo import ConnInfo


def test_describe_key_value_dsn_without_password() -> None:
    info = ConnInfo("host=db.internal port=5433 dbname=app user=svc password=s3cr3t-pw")
    assert info.describe() == "db.internal:5433/app as svc"
    assert "s3cr3t-pw" not in info.describe()


def test_describe_url_dsn() -> None:
    info = ConnInfo("postgresql://svc:p%40ss%2Fword@127.0.0.1:5432/app")
    assert info.describe() == "127.0.0.1:5432/app as svc"


def test_the_dsn_password_is_masked_plain_and_url_encoded() -> None:
    collector = PostgresCollector(
        PostgresConfig(dsn="postgresql://svc:p%40ss%2Fword@127.0.0.1:5432/app"), run_context())
    collector.fail("failed for 'p@ss/word' and p%40ss%2Fword")
    [message] = collector.errors
    assert "p@ss/word" not in message and "p%40ss%2Fword" not in message


def test_malformed_dsn_is_described_without_echoing_it() -> None:
    info = ConnInfo("host=x password='unterminated-secret")
    assert info.parse_error is not None
    assert "unterminated-secret" not in info.describe()
    context = run_context()
    context.add_secret("host=x password='unterminated-secret")
    assert "unterminated-secret" not in context.redact(info.parse_error)
