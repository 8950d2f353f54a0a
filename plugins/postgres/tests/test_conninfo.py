"""Secrets never leave the collector: DSN descriptions and scrubbed messages."""

from __future__ import annotations

from perfgate_postgres.conninfo import ConnInfo, scrub_text


def test_describe_key_value_dsn_without_password() -> None:
    info = ConnInfo("host=db.internal port=5433 dbname=app user=svc password=s3cr3t-pw")
    assert info.describe() == "db.internal:5433/app as svc"
    assert "s3cr3t-pw" not in info.describe()


def test_describe_url_dsn() -> None:
    info = ConnInfo("postgresql://svc:p%40ss%2Fword@127.0.0.1:5432/app")
    assert info.describe() == "127.0.0.1:5432/app as svc"


def test_scrub_removes_password_plain_and_url_encoded() -> None:
    info = ConnInfo("postgresql://svc:p%40ss%2Fword@127.0.0.1:5432/app")
    text = "failed for 'p@ss/word' and p%40ss%2Fword"
    scrubbed = info.scrub(text)
    assert "p@ss/word" not in scrubbed
    assert "p%40ss%2Fword" not in scrubbed


def test_scrub_password_shapes_in_any_text() -> None:
    text = ("dsn host=x password=hunter22 user=y; url postgresql://u:hunter33@h/db; "
            "ALTER ROLE bob PASSWORD 'hunter44'; CREATE ROLE x ENCRYPTED PASSWORD $$hunter55$$")
    scrubbed = scrub_text(text)
    for secret in ("hunter22", "hunter33", "hunter44", "hunter55"):
        assert secret not in scrubbed
    assert "ALTER ROLE bob PASSWORD '***'" in scrubbed
    assert "host=x password=*** user=y" in scrubbed


def test_malformed_dsn_is_described_without_echoing_it() -> None:
    info = ConnInfo("host=x password='unterminated-secret")
    assert info.parse_error is not None
    assert "unterminated-secret" not in info.describe()
    assert "unterminated-secret" not in info.scrub(info.parse_error)
