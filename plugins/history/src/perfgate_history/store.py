"""The run history: result documents kept in SQLite or PostgreSQL, with one schema.

Each run is a row of ``perfgate_runs`` (its whole redacted result document, its verdict, the
git commit and branch and the CI run id it came from) under the name of its targets file, and
a row of ``perfgate_checks`` per check (scenario, check, metric, aggregation, measured value,
verdict), which is what trends and change points read.

Migrations are plain versioned SQL: ``perfgate_schema`` holds the version, and
:data:`MIGRATIONS` the statements that lead from one version to the next, run in one
transaction (both databases have transactional DDL) under a lock (SQLite's write lock,
PostgreSQL's advisory lock), so two runs opening a new history at once cannot both migrate
it. A history of a newer schema than this plugin knows is refused, never rewritten; so is a
file that is not a SQLite database or holds other tables than perfgate's.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from perfgate import RunError

#: The schema this plugin writes; :data:`MIGRATIONS` leads up to it.
SCHEMA_VERSION = 1

#: Statements from version N-1 to N, by N. Types are those both databases read alike.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE perfgate_runs ("
        " id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " started DOUBLE PRECISION NOT NULL,"
        " finished DOUBLE PRECISION NOT NULL,"
        " status TEXT NOT NULL,"
        " verdict TEXT NOT NULL,"
        " exit_code INTEGER NOT NULL,"
        " git_commit TEXT,"
        " git_branch TEXT,"
        " ci_run_id TEXT,"
        " document TEXT NOT NULL)",
        "CREATE INDEX perfgate_runs_by_name ON perfgate_runs (name, started)",
        "CREATE TABLE perfgate_checks ("
        " run_id TEXT NOT NULL REFERENCES perfgate_runs (id) ON DELETE CASCADE,"
        " position INTEGER NOT NULL,"
        " name TEXT NOT NULL,"
        " metric TEXT NOT NULL,"
        " scenario TEXT,"
        " check_group TEXT NOT NULL,"
        " aggregation TEXT,"
        " measured DOUBLE PRECISION,"
        " unit TEXT NOT NULL,"
        " verdict TEXT NOT NULL,"
        " PRIMARY KEY (run_id, position))",
    ],
}

#: The check groups whose failure means a run regressed: it is never part of a baseline.
REGRESSION_GROUPS = ("baseline", "change-points")
_TABLES = ("perfgate_schema", "perfgate_runs", "perfgate_checks")
_RUN_COLUMNS = ("id, name, started, finished, status, verdict, exit_code, git_commit, "
                "git_branch, ci_run_id")


class HistoryError(RunError):
    """The run history cannot be opened, read or written; the message names it and why."""


@dataclass(frozen=True)
class Provenance:
    """Where a run came from: the git commit and branch, the CI run."""

    commit: str | None = None
    branch: str | None = None
    ci_run_id: str | None = None


@dataclass(frozen=True)
class StoredRun:
    """One run in the history (without its document)."""

    id: str
    name: str
    started: float
    finished: float
    status: str
    verdict: str
    exit_code: int
    git_commit: str | None
    git_branch: str | None
    ci_run_id: str | None


@dataclass(frozen=True)
class CheckPoint:
    """One check's measured value in one run: a point of a trend."""

    run: StoredRun
    name: str
    metric: str
    scenario: str | None
    group: str
    aggregation: str | None
    measured: float | None
    unit: str
    verdict: str


def safe_url(url: str) -> str:
    """``url`` with the password of its user part masked, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite history URL, else None: a plain path, or ``sqlite:///path`` as
    SQLAlchemy writes it (``sqlite:///runs.db`` relative, ``sqlite:////var/runs.db``
    absolute)."""
    if url.startswith(("postgresql://", "postgres://")):
        return None
    if url.startswith("sqlite:"):
        rest = url.removeprefix("sqlite:")
        return Path(rest[3:] if rest.startswith("///") else rest)
    if "://" in url:
        raise HistoryError(f"history {safe_url(url)}: expected a SQLite file or a "
                           "postgresql:// URL")
    return Path(url)


class History:
    """An open run history. Use :func:`open_history`; close it (or use ``with``)."""

    placeholder = "?"

    def __init__(self, where: str, connection: Any) -> None:
        self.where = where
        self.connection = connection

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    # -- the database's own ways -------------------------------------------------------------
    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """A write transaction holding the database's write lock."""
        raise NotImplementedError

    def _tables(self, cursor: Any) -> set[str]:
        raise NotImplementedError

    def _fail(self, exc: Exception, doing: str) -> HistoryError:
        return HistoryError(f"history {self.where}: cannot {doing}: {exc}")

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema up to :data:`SCHEMA_VERSION`; refuse a newer one."""
        with self._write() as cursor:
            tables = self._tables(cursor)
            if "perfgate_schema" not in tables:
                self._check_foreign(tables)
                cursor.execute("CREATE TABLE perfgate_schema (version INTEGER NOT NULL)")
                cursor.execute("INSERT INTO perfgate_schema (version) VALUES (0)")
            cursor.execute("SELECT version FROM perfgate_schema")
            row = cursor.fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"history {self.where} has schema version {version}, newer than this "
                    f"perfgate-history knows ({SCHEMA_VERSION}): upgrade perfgate-history; "
                    "the history was left as it is")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    cursor.execute(statement)
            if version < SCHEMA_VERSION:
                cursor.execute(self._sql("UPDATE perfgate_schema SET version = ?"),
                               (SCHEMA_VERSION,))

    def _check_foreign(self, tables: set[str]) -> None:
        """A new history starts empty: a SQLite file with other tables is not one."""

    # -- writing -----------------------------------------------------------------------------
    def store(self, document: dict[str, Any], name: str, provenance: Provenance) -> StoredRun:
        """Keep one run's (redacted) result document under ``name``."""
        run = document["run"]
        stored = StoredRun(id=str(run["id"]), name=name, started=float(run["started"]),
                           finished=float(run["finished"]), status=str(run["status"]),
                           verdict=str(document["verdict"]),
                           exit_code=int(document["exit_code"]), git_commit=provenance.commit,
                           git_branch=provenance.branch, ci_run_id=provenance.ci_run_id)
        rows = [(stored.id, i, c["name"], c["metric"], c.get("scenario"), c.get("group", ""),
                 c.get("aggregation"), c.get("measured"), c.get("unit", ""), c["verdict"])
                for i, c in enumerate(document.get("checks", []))]
        with self._write() as cursor:
            cursor.execute(self._sql(
                f"INSERT INTO perfgate_runs ({_RUN_COLUMNS}, document) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (stored.id, stored.name, stored.started, stored.finished, stored.status,
                 stored.verdict, stored.exit_code, stored.git_commit, stored.git_branch,
                 stored.ci_run_id, json.dumps(document)))
            cursor.executemany(self._sql(
                "INSERT INTO perfgate_checks (run_id, position, name, metric, scenario, "
                "check_group, aggregation, measured, unit, verdict) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), rows)
        return stored

    def replace_document(self, run_id: str, document: dict[str, Any]) -> None:
        """Keep ``document`` as the result document of the stored run ``run_id``."""
        with self._write() as cursor:
            cursor.execute(self._sql("UPDATE perfgate_runs SET document = ? WHERE id = ?"),
                           (json.dumps(document), run_id))

    def prune(self, name: str, keep_runs: int | None = None,
              keep_for: float | None = None, now: float | None = None) -> int:
        """Delete ``name``'s runs beyond the newest ``keep_runs`` and those started more than
        ``keep_for`` seconds ago; return how many went."""
        doomed: set[str] = set()
        runs = self.runs(name)
        if keep_runs is not None:
            doomed.update(r.id for r in runs[keep_runs:])
        if keep_for is not None:
            oldest = (time.time() if now is None else now) - keep_for
            doomed.update(r.id for r in runs if r.started < oldest)
        if not doomed:
            return 0
        ids = sorted(doomed)
        marks = ", ".join("?" for _ in ids)
        with self._write() as cursor:
            cursor.execute(self._sql(f"DELETE FROM perfgate_checks WHERE run_id IN ({marks})"),
                           ids)
            cursor.execute(self._sql(f"DELETE FROM perfgate_runs WHERE id IN ({marks})"), ids)
        return len(ids)

    # -- reading -----------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
        self.connection.commit()  # end the read transaction: hold no lock while idle
        return rows

    def names(self) -> list[str]:
        """The names (targets files) the history holds runs of."""
        return [row[0] for row in self._query(
            "SELECT DISTINCT name FROM perfgate_runs ORDER BY name")]

    def _filters(self, name: str | None, branch: str | None, since: float | None,
                 until: float | None, status: str | None,
                 table: str = "") -> tuple[str, list[Any]]:
        where, params = [], []
        for column, value, op in (("name", name, "="), ("git_branch", branch, "="),
                                  ("started", since, ">="), ("started", until, "<="),
                                  ("status", status, "=")):
            if value is not None:
                where.append(f"{table}{column} {op} ?")
                params.append(value)
        return (" WHERE " + " AND ".join(where)) if where else "", params

    def runs(self, name: str | None = None, *, branch: str | None = None,
             since: float | None = None, until: float | None = None,
             status: str | None = None, limit: int | None = None) -> list[StoredRun]:
        """Runs, newest first, filtered by name, branch, start time and status."""
        where, params = self._filters(name, branch, since, until, status)
        sql = f"SELECT {_RUN_COLUMNS} FROM perfgate_runs{where} ORDER BY started DESC, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [StoredRun(*row) for row in self._query(sql, params)]

    def documents(self, name: str, *, limit: int,
                  branch: str | None = None) -> list[dict[str, Any]]:
        """The result documents of ``name``'s latest completed runs that did not regress,
        newest first: what a baseline is made of. A run regressed when one of its
        ``baseline`` or ``change-points`` checks failed; a run that only missed an absolute
        threshold (or a built-in check) is still a fair reference."""
        where, params = self._filters(name, branch, None, None, "completed", table="r.")
        rows = self._query(
            f"SELECT r.document FROM perfgate_runs r{where} AND NOT EXISTS (SELECT 1 FROM "
            "perfgate_checks c WHERE c.run_id = r.id AND c.verdict = 'fail' AND "
            f"c.check_group IN ({', '.join('?' for _ in REGRESSION_GROUPS)}))"
            f" ORDER BY r.started DESC, r.id LIMIT {int(limit)}",
            [*params, *REGRESSION_GROUPS])
        return [json.loads(row[0]) for row in rows]

    def points(self, name: str, *, branch: str | None = None, since: float | None = None,
               until: float | None = None) -> list[CheckPoint]:
        """Every check of ``name``'s runs, oldest run first: the trends."""
        where, params = self._filters(name, branch, since, until, None, table="r.")
        columns = ", ".join(f"r.{c.strip()}" for c in _RUN_COLUMNS.split(","))
        rows = self._query(
            f"SELECT {columns}, c.name, c.metric, c.scenario, c.check_group, c.aggregation, "
            "c.measured, c.unit, c.verdict FROM perfgate_runs r JOIN perfgate_checks c "
            f"ON c.run_id = r.id{where}"
            " ORDER BY r.started, r.id, c.position", params)
        return [CheckPoint(StoredRun(*row[:10]), *row[10:]) for row in rows]


class SqliteHistory(History):
    """A history in a SQLite file (the default: ``history: runs.db``)."""

    def __init__(self, path: Path, lock_timeout: float) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=lock_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"history {path}: cannot open it: {exc}") from None
        super().__init__(str(path), connection)
        self.lock_timeout = lock_timeout

    @contextmanager
    def _write(self) -> Iterator[Any]:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            cursor.close()
            raise self._error(exc) from None
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException as exc:
            cursor.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from None
            raise
        finally:
            cursor.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return super()._query(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> HistoryError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return HistoryError(f"history {self.where} is locked by another process (waited "
                                f"{self.lock_timeout:g}s); nothing was changed")
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text
                                                       or "malformed" in text):
            return HistoryError(f"history {self.where} is not a SQLite database, or is "
                                f"corrupt ({text}); it was left as it is")
        return HistoryError(f"history {self.where}: {text}")

    def _tables(self, cursor: Any) -> set[str]:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in cursor.fetchall()}

    def _check_foreign(self, tables: set[str]) -> None:
        foreign = sorted(tables - set(_TABLES))
        if foreign:
            raise HistoryError(f"history {self.where} is a SQLite database of something "
                               f"else (tables {', '.join(foreign)}); it was left as it is")


class PostgresHistory(History):
    """A history in PostgreSQL, for a team's shared one (``postgresql://host/db``)."""

    placeholder = "%s"
    #: The advisory lock key that serialises migrations (any fixed number will do).
    LOCK_KEY = 0x70657266  # "perf"

    def __init__(self, url: str, lock_timeout: float) -> None:
        import psycopg

        self._psycopg = psycopg
        where = safe_url(url)
        try:
            connection = psycopg.connect(url, connect_timeout=max(1, round(lock_timeout)))
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
            connection.commit()
        except psycopg.Error as exc:
            raise HistoryError(f"history {where}: cannot connect: "
                               f"{str(exc).strip().splitlines()[0]}") from None
        super().__init__(where, connection)

    @contextmanager
    def _write(self) -> Iterator[Any]:
        psycopg = self._psycopg
        try:
            with self.connection.transaction(), self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (self.LOCK_KEY,))
                yield cursor
        except psycopg.errors.LockNotAvailable:
            raise HistoryError(f"history {self.where} is locked by another session; "
                               "nothing was changed") from None
        except psycopg.Error as exc:
            raise HistoryError(f"history {self.where}: {str(exc).strip()}") from None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return super()._query(sql, params)
        except self._psycopg.Error as exc:
            self.connection.rollback()
            raise HistoryError(f"history {self.where}: {str(exc).strip()}") from None

    def _tables(self, cursor: Any) -> set[str]:
        cursor.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = current_schema()")
        return {row[0] for row in cursor.fetchall()}


def open_history(url: str, lock_timeout: float = 10.0) -> History:
    """Open (and create or migrate) the history at ``url``: a SQLite file or a PostgreSQL URL.

    :raises HistoryError: it cannot be reached, is locked for longer than ``lock_timeout``
        seconds, is corrupt, is something else, or has a newer schema.
    """
    path = sqlite_path(url)
    history: History = (SqliteHistory(path, lock_timeout) if path is not None
                        else PostgresHistory(url, lock_timeout))
    try:
        history.migrate()
    except BaseException:
        history.close()
        raise
    return history
