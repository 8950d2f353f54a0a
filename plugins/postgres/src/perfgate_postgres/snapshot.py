"""One reading of a PostgreSQL server's statistics views, taken in a single transaction.

Every statement the collector sends starts with the comment ``/* perfgate-postgres */`` so that
its own statements can be left out of ``pg_stat_statements`` results, even where it may not
turn tracking off for its session.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from perfgate_postgres.statements import StatementRow

TAG = "/* perfgate-postgres */"

PROBE = f"{TAG} SELECT 1"

SERVER = f"""{TAG} SELECT pg_catalog.pg_postmaster_start_time(), pg_catalog.pg_is_in_recovery(),
    pg_catalog.current_setting('max_connections')::int,
    (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend')"""

#: Cumulative counters per database, from ``pg_stat_database``.
DATABASE_COUNTERS = ("xact_commit", "xact_rollback", "blks_read", "blks_hit", "temp_files",
                     "temp_bytes", "deadlocks")

DATABASES = f"""{TAG} SELECT d.datname, {", ".join("s." + c for c in DATABASE_COUNTERS)}
    FROM pg_catalog.pg_stat_database s JOIN pg_catalog.pg_database d ON d.oid = s.datid
    WHERE NOT d.datistemplate AND (%(all)s OR d.datname = ANY(%(names)s))"""

WAITING_LOCKS = f"""{TAG} SELECT a.datname, count(*) FROM pg_catalog.pg_locks l
    JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
    WHERE NOT l.granted AND a.datname IS NOT NULL GROUP BY a.datname"""

#: On a primary: how far behind each streaming replica is.
REPLICAS = f"""{TAG} SELECT coalesce(nullif(application_name, ''), client_addr::text, pid::text),
    pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)::float8,
    (extract(epoch FROM replay_lag) * 1000)::float8
    FROM pg_catalog.pg_stat_replication"""

#: On a standby: how far behind its primary it is.
STANDBY = f"""{TAG} SELECT
    pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(),
                               pg_catalog.pg_last_wal_replay_lsn())::float8,
    CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
         ELSE extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp()) * 1000
    END::float8"""


@dataclass
class Replica:
    """Replication lag of one replica (``name``), or of this server when it is a standby."""

    name: str
    lag_bytes: float | None
    lag_ms: float | None


@dataclass
class Snapshot:
    """Everything read in one sample."""

    at: float
    started_at: datetime
    in_recovery: bool
    max_connections: int
    connections: int
    probe_ms: list[float] = field(default_factory=list)
    databases: dict[str, dict[str, int]] = field(default_factory=dict)
    waiting_locks: dict[str, int] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    statements: list[StatementRow] | None = None


@dataclass(frozen=True)
class StatementsSource:
    """Where ``pg_stat_statements`` lives and which of its columns this version has."""

    schema: str
    total_column: str  # total_exec_time (1.8+) or total_time
    max_column: str
    has_toplevel: bool

    def query(self) -> sql.Composed:
        toplevel = sql.SQL("s.toplevel") if self.has_toplevel else sql.SQL("true")
        return sql.SQL(TAG + """ SELECT s.userid, s.dbid, s.queryid, {toplevel}, d.datname,
            s.calls, s.{total}, s.{max}, s.rows, s.shared_blks_hit, s.shared_blks_read, s.query
            FROM {schema}.pg_stat_statements s
            JOIN pg_catalog.pg_database d ON d.oid = s.dbid
            WHERE s.calls > 0 AND (%(all)s OR d.datname = ANY(%(names)s))
              AND s.query NOT LIKE '/* perfgate-postgres */%%'""").format(
            toplevel=toplevel, total=sql.Identifier(self.total_column),
            max=sql.Identifier(self.max_column), schema=sql.Identifier(self.schema))


def find_statements(conn: psycopg.Connection[Any]) -> tuple[StatementsSource | None, str]:
    """Locate ``pg_stat_statements`` in the connected database; else why it is unusable."""
    database = conn.info.dbname
    row = conn.execute(
        f"""{TAG} SELECT n.nspname FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_stat_statements'""").fetchone()
    preload = ("add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and "
               "restart the server")
    create = f"run CREATE EXTENSION pg_stat_statements; in the database {database!r}"
    if row is None:
        try:
            libraries = conn.execute(
                f"{TAG} SELECT pg_catalog.current_setting('shared_preload_libraries')"
            ).fetchone()
        except psycopg.errors.InsufficientPrivilege:  # only some roles may read the setting
            return None, (f"the pg_stat_statements extension is not created in {database!r}: "
                          f"{preload} if it is not loaded yet, then {create}")
        if libraries is not None and "pg_stat_statements" in str(libraries[0]):
            return None, (f"the pg_stat_statements extension is not created in {database!r}: "
                          f"{create}")
        return None, f"pg_stat_statements is not loaded: {preload}, then {create}"
    schema = str(row[0])
    relation = sql.Identifier(schema, "pg_stat_statements")
    try:
        conn.execute(sql.SQL(TAG + " SELECT 1 FROM {} LIMIT 1").format(relation)).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return None, f"pg_stat_statements is created but not loaded: {preload}"
    columns = {r[0] for r in conn.execute(
        f"""{TAG} SELECT attname FROM pg_catalog.pg_attribute
        WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped""",
        (relation.as_string(conn),)).fetchall()}
    new = "total_exec_time" in columns
    return StatementsSource(
        schema=schema,
        total_column="total_exec_time" if new else "total_time",
        max_column="max_exec_time" if new else "max_time",
        has_toplevel="toplevel" in columns,
    ), ""


def sees_all_statements(conn: psycopg.Connection[Any]) -> bool:
    """Whether the connected role sees other roles' statement texts (superuser or member of
    ``pg_read_all_stats``); otherwise their texts read ``<insufficient privilege>``."""
    row = conn.execute(
        f"""{TAG} SELECT rolsuper OR pg_catalog.pg_has_role(current_user, 'pg_read_all_stats',
        'MEMBER') FROM pg_catalog.pg_roles WHERE rolname = current_user""").fetchone()
    return bool(row and row[0])


@contextlib.contextmanager
def _transaction(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """One transaction, its BEGIN and COMMIT tagged so pg_stat_statements results skip them
    (psycopg's own would count as the application's BEGIN and COMMIT)."""
    conn.execute(f"{TAG} BEGIN READ ONLY")
    try:
        yield
    except BaseException:
        if not conn.broken and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f"{TAG} ROLLBACK")
        raise
    conn.execute(f"{TAG} COMMIT")


def read_snapshot(conn: psycopg.Connection[Any], *, names: list[str] | None, probes: int,
                  statements: StatementsSource | None) -> Snapshot:
    """Read everything once, in one transaction; ``names`` None means every database."""
    params = {"all": names is None, "names": names or []}
    with _transaction(conn):
        probe_ms = []
        for _ in range(probes):
            t0 = time.perf_counter()
            conn.execute(PROBE).fetchone()
            probe_ms.append((time.perf_counter() - t0) * 1000.0)
        at = time.time()
        started_at, in_recovery, max_connections, connections = conn.execute(
            SERVER).fetchone()  # type: ignore[misc]
        snap = Snapshot(at=at, started_at=started_at, in_recovery=bool(in_recovery),
                        max_connections=int(max_connections), connections=int(connections),
                        probe_ms=probe_ms)
        for name, *values in conn.execute(DATABASES, params).fetchall():
            snap.databases[name] = {c: int(v or 0) for c, v in zip(DATABASE_COUNTERS, values,
                                                                   strict=True)}
        snap.waiting_locks = {name: int(n) for name, n in conn.execute(WAITING_LOCKS).fetchall()}
        if snap.in_recovery:
            row = conn.execute(STANDBY).fetchone()
            if row is not None and row[0] is not None:
                snap.replicas.append(Replica("self", row[0], row[1]))
        else:
            for name, lag_bytes, lag_ms in conn.execute(REPLICAS).fetchall():
                if lag_ms is None and lag_bytes == 0:
                    lag_ms = 0.0  # caught up and idle: PostgreSQL stops reporting a lag time
                snap.replicas.append(Replica(str(name), lag_bytes, lag_ms))
        if statements is not None:
            snap.statements = [
                StatementRow(key=(userid, dbid, queryid, toplevel), database=datname,
                             query=query or "", calls=int(calls), total_ms=float(total or 0),
                             max_ms=float(max_ or 0), rows=int(rows or 0),
                             shared_blks_hit=int(hit or 0), shared_blks_read=int(read or 0))
                for (userid, dbid, queryid, toplevel, datname, calls, total, max_, rows, hit,
                     read, query) in conn.execute(statements.query(), params).fetchall()
            ]
    return snap
