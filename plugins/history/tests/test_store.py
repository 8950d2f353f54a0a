"""The history store, the same tests on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from perfgate_history.store import (
    SCHEMA_VERSION,
    HistoryError,
    PostgresHistory,
    Provenance,
    open_history,
    sqlite_path,
)
from perfgate_history.testing import result_document as document


def fill(url: str, count: int, name: str = "api.yml", branch: str = "main",
         start: float = 1000.0) -> None:
    prefix = "" if name == "api.yml" else f"{name}-"
    with open_history(url) as history:
        for i in range(count):
            history.store(document(f"{prefix}{branch}-{i}", start + i * 100, 50.0 + i), name,
                          Provenance("abc", branch, str(i)))


def test_runs_and_points_come_back_as_stored(history_url):
    fill(history_url, 3)
    fill(history_url, 2, branch="feature", start=5000)
    fill(history_url, 1, name="other.yml", start=9000)
    with open_history(history_url) as history:
        assert history.names() == ["api.yml", "other.yml"]
        runs = history.runs("api.yml")
        assert [r.id for r in runs] == ["feature-1", "feature-0", "main-2", "main-1", "main-0"]
        assert (runs[-1].git_commit, runs[-1].git_branch, runs[-1].ci_run_id) == \
            ("abc", "main", "0")
        assert [r.id for r in history.runs("api.yml", branch="main", since=1100,
                                           until=1200)] == ["main-2", "main-1"]
        points = history.points("api.yml", branch="main")
        assert [(p.run.id, p.name, p.measured) for p in points if p.name == "latency"] == \
            [("main-0", "latency", 50.0), ("main-1", "latency", 51.0),
             ("main-2", "latency", 52.0)]
        assert {p.scenario for p in points if p.name == "latency"} == {"load"}
        docs = history.documents("api.yml", limit=2, branch="main")
        assert [d["run"]["id"] for d in docs] == ["main-2", "main-1"]


def test_baselines_are_made_of_completed_runs_that_did_not_regress(history_url):
    with open_history(history_url) as history:
        history.store(document("good", 1, 50), "api.yml", Provenance())
        history.store(document("regressed", 2, 90, regressed=True), "api.yml", Provenance())
        history.store(document("broken", 3, 50, status="broken"), "api.yml", Provenance())
        history.store(document("missed", 4, 60, verdict="fail"), "api.yml", Provenance())
        history.store(document("warned", 5, 60, verdict="warn"), "api.yml", Provenance())
        assert [d["run"]["id"] for d in history.documents("api.yml", limit=10)] == \
            ["warned", "missed", "good"]
        assert [d["run"]["id"] for d in history.documents("api.yml", limit=2)] == \
            ["warned", "missed"]


def test_retention_keeps_the_newest_runs_of_one_name(history_url):
    fill(history_url, 5)
    fill(history_url, 2, name="other.yml")
    with open_history(history_url) as history:
        assert history.prune("api.yml", keep_runs=3) == 2
        assert [r.id for r in history.runs("api.yml")] == ["main-4", "main-3", "main-2"]
        # main-2 started at 1200: 250 s before 1450 is 1200, kept; main-3 and -4 are newer.
        assert history.prune("api.yml", keep_for=200, now=1450) == 1
        assert [r.id for r in history.runs("api.yml")] == ["main-4", "main-3"]
        assert len(history.points("api.yml")) == 4  # their checks went with them
        assert len(history.runs("other.yml")) == 2


def test_a_run_id_is_stored_once(history_url):
    fill(history_url, 1)
    with open_history(history_url) as history, pytest.raises(HistoryError):
        history.store(document("main-0", 1, 1), "api.yml", Provenance())
    with open_history(history_url) as history:
        assert len(history.runs("api.yml")) == 1  # the failed write changed nothing


def _set_version(url: str, version: int) -> None:
    path = sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE perfgate_schema SET version = ?", (version,))
        return
    with psycopg.connect(url) as db:
        db.execute("UPDATE perfgate_schema SET version = %s", (version,))


def test_a_newer_schema_is_refused_and_left_as_it_is(history_url):
    fill(history_url, 2)
    _set_version(history_url, SCHEMA_VERSION + 1)
    with pytest.raises(HistoryError, match=r"schema version 2, newer than this "
                                           r"perfgate-history knows \(1\).*left as it is"):
        open_history(history_url)
    _set_version(history_url, SCHEMA_VERSION)
    with open_history(history_url) as history:
        assert len(history.runs("api.yml")) == 2


def _hold_write_lock(url: str) -> Any:
    """Another process's write lock on the history: a connection holding it."""
    path = sqlite_path(url)
    if path is not None:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        return holder
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (PostgresHistory.LOCK_KEY,))
    return holder


def test_a_locked_history_is_an_error_after_the_timeout_and_loses_nothing(history_url):
    fill(history_url, 2)
    holder = _hold_write_lock(history_url)
    try:
        with pytest.raises(HistoryError, match="is locked by another"), \
                open_history(history_url, lock_timeout=0.3) as history:
            history.store(document("late", 1, 1), "api.yml", Provenance())
    finally:
        holder.close()
    with open_history(history_url) as history:
        assert [r.id for r in history.runs("api.yml")] == ["main-1", "main-0"]
        history.store(document("late", 9999, 1), "api.yml", Provenance())  # free again


def test_a_corrupt_file_is_an_error_and_is_not_touched(tmp_path):
    path = tmp_path / "runs.db"
    garbage = b"this is no database\n" * 500
    path.write_bytes(garbage)
    with pytest.raises(HistoryError, match=r"is not a SQLite database, or is corrupt.*"
                                           r"left as it is"):
        open_history(str(path))
    assert path.read_bytes() == garbage


def test_a_sqlite_file_of_something_else_is_refused(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(HistoryError, match=r"a SQLite database of something else "
                                           r"\(tables users\)"):
        open_history(str(path))
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["users"]


def test_urls(tmp_path):
    assert sqlite_path("runs.db") == Path("runs.db")
    assert sqlite_path(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    assert sqlite_path("sqlite:///runs/a.db") == Path("runs/a.db")
    assert sqlite_path("postgresql://h/db") is None
    with pytest.raises(HistoryError, match="expected a SQLite file or a postgresql://"):
        sqlite_path("mysql://h/db")


def test_an_unreachable_postgresql_names_it_without_its_password():
    with pytest.raises(HistoryError) as caught:
        open_history("postgresql://bob:s3cret@127.0.0.1:1/test", lock_timeout=1)
    assert "postgresql://bob:***@127.0.0.1:1/test: cannot connect" in str(caught.value)
    assert "s3cret" not in str(caught.value)
