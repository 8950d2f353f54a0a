"""postgres/postgresql-performance.conf on a real cluster: it starts and every setting holds."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from perfgate_postgres.testing import TemporaryCluster, find_bindir

CONF = Path(__file__).resolve().parents[3] / "postgres" / "postgresql-performance.conf"
SETTING = re.compile(r"^\s*([a-z_.]+)\s*=\s*('[^']*'|\S+)", re.M)


def conf_settings() -> dict[str, str]:
    return {name: value.strip("'") for name, value in SETTING.findall(CONF.read_text())}


def test_every_setting_is_commented() -> None:
    # A setting has a comment on its line, or is one of a group of settings right under one.
    lines = CONF.read_text().splitlines()
    for i, line in enumerate(lines):
        if SETTING.match(line) and "#" not in line:
            j = i - 1
            while j >= 0 and SETTING.match(lines[j]):
                j -= 1
            above = lines[j].strip() if j >= 0 else ""
            assert above.startswith("#") and not above.startswith("#---"), \
                f"line {i + 1} has no comment saying why: {line}"


@pytest.fixture(scope="module")
def tuned() -> TemporaryCluster:
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with TemporaryCluster(include=CONF) as cluster:
        yield cluster


def test_the_plan_settings_took_effect(tuned) -> None:
    with tuned.connect() as conn:
        def show(name: str) -> str:
            return conn.execute(f"SHOW {name}").fetchone()[0]

        assert show("shared_buffers") == "256MB"
        assert show("max_connections") == "200"
        assert show("shared_preload_libraries") == "pg_stat_statements"
        assert show("random_page_cost") == "1.1"
        assert show("effective_io_concurrency") == "200"
        assert show("log_min_duration_statement") == "100ms"
        assert show("checkpoint_completion_target") == "0.9"
        assert show("max_wal_size") == "2GB"
        assert show("jit") == "off"
        # Every setting of the file is applied from the file, none has an error.
        rows = conn.execute(
            "SELECT name, setting, applied, error FROM pg_file_settings WHERE sourcefile = %s",
            (str(Path(tuned.root) / CONF.name),)).fetchall()
        assert {r[0] for r in rows} == set(conf_settings())
        assert [r for r in rows if not r[2] or r[3]] == []
        sources = dict(conn.execute(
            "SELECT name, sourcefile FROM pg_settings WHERE name = ANY(%s)",
            (list(conf_settings()),)).fetchall())
        assert {n: s for n, s in sources.items() if not str(s).endswith(CONF.name)} == {}
        assert conn.execute("SELECT count(*) FROM pg_settings WHERE pending_restart"
                            ).fetchone()[0] == 0


def test_pg_stat_statements_and_slow_statement_log(tuned) -> None:
    with tuned.connect() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_sleep(0.15)")
        calls = conn.execute("SELECT calls FROM pg_stat_statements "
                             "WHERE query = 'SELECT pg_sleep($1)'").fetchone()
        assert calls == (1,)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "SELECT pg_sleep(0.15)" not in tuned.log_tail(200):
        time.sleep(0.1)
    log = tuned.log_tail(200)
    assert re.search(r"duration: 1\d\d\.\d+ ms\s+statement: SELECT pg_sleep\(0\.15\)", log), log
