"""Fixtures: a history in a SQLite file and one in a schema of its own in the shared
PostgreSQL (127.0.0.1:5432, db ``test``), dropped afterwards; the same tests run on both."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

#: tests/e2e/gateplugin.py: the synthetic driver with known numbers.
E2E = Path(__file__).resolve().parents[3] / "tests" / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

SHARED_DSN = os.environ.get("PERFGATE_TEST_PG_DSN",
                            "host=127.0.0.1 port=5432 dbname=test user=postgres")
SHARED_URL = os.environ.get("PERFGATE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _known_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs come from a known commit and branch, whatever CI the suite runs on."""
    monkeypatch.setenv("PERFGATE_GIT_COMMIT", "c0ffee")
    monkeypatch.setenv("PERFGATE_GIT_BRANCH", "main")
    monkeypatch.setenv("PERFGATE_CI_RUN_ID", "42")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema, dropped afterwards."""
    try:
        admin = psycopg.connect(SHARED_DSN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"the shared PostgreSQL is not reachable ({SHARED_DSN}): {exc}")
    schema = f"perfgate_history_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{SHARED_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test once with SQLite, once with PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "history" / "runs.db")
    return str(request.getfixturevalue("pg_schema"))
