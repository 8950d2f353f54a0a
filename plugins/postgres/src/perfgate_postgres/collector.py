"""The ``postgres`` collector: what a PostgreSQL server did during the run.

Counters (transactions, blocks, temp files, deadlocks, statement calls and times) are read as
deltas between successive samples and added up, so the metrics cover the run window, from the
first to the last successful sample, never the totals since the server started. Levels
(connections, waiting locks, replication lag) are gauges sampled every ``interval``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import Any

import psycopg

from perfgate import (
    ConfigError,
    Kind,
    MetricInfo,
    RunContext,
    RunError,
    SamplingCollector,
    TargetSpec,
    counter_delta,
)
from perfgate_postgres.config import PostgresConfig, dsn_problem
from perfgate_postgres.conninfo import ConnInfo
from perfgate_postgres.snapshot import (
    TAG,
    Snapshot,
    StatementsSource,
    find_statements,
    read_snapshot,
    sees_all_statements,
)
from perfgate_postgres.statements import StatementTracker, record_interval

#: Longest query text kept in the report for one statement.
QUERY_TEXT_LIMIT = 2000

METRICS = [
    MetricInfo("postgres.query_duration", Kind.TREND, "ms",
               "statement execution time per call, from pg_stat_statements deltas"),
    MetricInfo("postgres.calls", Kind.COUNTER, "",
               "statements executed (pg_stat_statements calls); rate is per second"),
    MetricInfo("postgres.probe_duration", Kind.TREND, "ms",
               "round trip of the collector's own probe query (SELECT 1)"),
    MetricInfo("postgres.cache_hit_ratio", Kind.RATE, "ratio",
               "share of block reads served from shared buffers"),
    MetricInfo("postgres.transactions", Kind.COUNTER, "", "commits plus rollbacks"),
    MetricInfo("postgres.rollbacks", Kind.COUNTER, "", "transactions rolled back"),
    MetricInfo("postgres.deadlocks", Kind.COUNTER, "", "deadlocks detected"),
    MetricInfo("postgres.temp_files", Kind.COUNTER, "", "temporary files written"),
    MetricInfo("postgres.temp_bytes", Kind.COUNTER, "B", "bytes written to temporary files"),
    MetricInfo("postgres.connections", Kind.GAUGE, "", "client connections to the server"),
    MetricInfo("postgres.max_connections", Kind.GAUGE, "", "the server's max_connections"),
    MetricInfo("postgres.connections_used", Kind.GAUGE, "%",
               "client connections as a share of max_connections"),
    MetricInfo("postgres.locks_waiting", Kind.GAUGE, "", "lock requests waiting to be granted"),
    MetricInfo("postgres.replication_lag", Kind.GAUGE, "ms", "replay lag of a replica"),
    MetricInfo("postgres.replication_lag_bytes", Kind.GAUGE, "B",
               "WAL a replica has still to replay"),
]

COUNTER_FIELDS = {
    "postgres.deadlocks": "deadlocks",
    "postgres.temp_files": "temp_files",
    "postgres.temp_bytes": "temp_bytes",
}


class Watchdog:
    """Cuts a connection whose query has not answered within ``timeout`` seconds.

    libpq waits for a silent server forever (a host that froze, a server stopped with
    SIGSTOP); shutting the socket down makes the waiting call fail at once.
    """

    def __init__(self, conn: psycopg.Connection[Any], timeout: float) -> None:
        self.conn = conn
        self.fired = False
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        with (contextlib.suppress(OSError, ValueError, psycopg.Error),
              socket.socket(fileno=os.dup(self.conn.pgconn.socket)) as sock):
            sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


class PostgresCollector(SamplingCollector[PostgresConfig]):
    """Samples PostgreSQL's statistics views while the scenarios run."""

    name = "postgres"
    summary = ("PostgreSQL during the run: statement times (pg_stat_statements), cache hit "
               "ratio, transactions, connections, locks, temp files, replication lag")

    def __init__(self, config: PostgresConfig, context: RunContext,
                 instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self.conninfo = ConnInfo(config.dsn.get_secret_value())
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._names: list[str] | None = None
        self._statements_source: StatementsSource | None = None
        self._statements = StatementTracker()
        self._previous: Snapshot | None = None
        self._details: dict[str, Any] = {}

    # -- the contract --------------------------------------------------------------------
    @classmethod
    def produces(cls, config: PostgresConfig) -> list[MetricInfo]:
        return list(METRICS)

    @classmethod
    def builtin_targets(cls, config: PostgresConfig) -> dict[str, TargetSpec]:
        if not config.builtin_targets:
            return {}
        return {
            "query-p95": TargetSpec(
                metric="postgres.query_duration", target="p(95) < 100ms",
                critical="p(95) < 500ms", on_missing="skip",
                description="95% of statements run in under 100ms (pg_stat_statements)"),
            "connection-headroom": TargetSpec(
                metric="postgres.connections_used", target="max < 80%", critical="max < 95%",
                on_missing="fail",
                description="connections stay well below max_connections"),
            # A warning only: a database fresh from CI starts with cold buffers, and a short
            # run may read most of its blocks for the first time.
            "cache-hit-ratio": TargetSpec(
                metric="postgres.cache_hit_ratio", target="rate > 99%", on_missing="skip",
                description="block reads are served from shared buffers (warns only)"),
        }

    def details(self) -> dict[str, Any]:
        return self._details

    def describe(self) -> str:
        return self.conninfo.describe()

    # -- connecting ----------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        problem = dsn_problem(self.conninfo.dsn)
        if problem is not None:  # libpq's own message quotes the dsn
            raise RunError(f"postgres: dsn: {problem}")
        try:
            for host in self.conninfo.network_hosts():
                self.context.check_host_allowed(host)
        except ConfigError as exc:
            raise RunError(f"postgres: {exc}") from None
        try:
            conn = psycopg.connect(
                self.conninfo.dsn, autocommit=True,
                connect_timeout=max(2, round(self.config.timeout)),
                fallback_application_name="perfgate-postgres")
        except psycopg.Error as exc:
            raise RunError(self._connect_message(exc)) from None
        try:
            # A name that looks loopback may resolve elsewhere: the address counts.
            self.context.check_connected(conn.info.host, conn.info.hostaddr)
        except ConfigError as exc:
            conn.close()
            raise RunError(f"postgres: {exc}") from None
        try:
            conn.execute(f"{TAG} SELECT pg_catalog.set_config('statement_timeout', %s, false)",
                         (f"{max(int(self.config.timeout * 1000), 1)}ms",))
        except psycopg.Error:
            conn.close()
            raise
        return conn

    def _connect_message(self, exc: BaseException) -> str:
        """A one-line reason why connecting failed, with what to check, and no secret."""
        text = " ".join(str(exc).split())
        low = text.lower()
        where = self.conninfo.describe()
        if "password authentication failed" in low or "authentication failed" in low:
            hint = "authentication failed: check the user and password in the dsn"
        elif "no password supplied" in low:
            hint = "the server wants a password and the dsn has none"
        elif "connection refused" in low:
            hint = "connection refused: is the server running and listening there?"
        elif "timeout expired" in low or "timed out" in low:
            hint = f"no answer within {self.config.timeout:g}s"
        elif "does not exist" in low:
            hint = "the database or role in the dsn does not exist"
        else:
            hint = "cannot connect"
        return f"postgres: {hint} ({where}): {text}"

    def open(self) -> None:
        conn = self._connect()
        try:
            self._names = self._resolve_databases(conn)
            self._statements_source, why = find_statements(conn)
            if self._statements_source is None:
                self.context.note(
                    f"postgres ({self.conninfo.describe()}): postgres.query_duration, "
                    f"postgres.calls and the slowest statements are not measured: {why}.")
            else:
                self._untrack_own_statements(conn)
                if not sees_all_statements(conn):
                    user = conn.info.user
                    self.context.note(
                        f"postgres: the role {user!r} sees only its own statements in "
                        "pg_stat_statements (others read <insufficient privilege>): GRANT "
                        f"pg_read_all_stats TO {user}; to measure every statement")
        except psycopg.Error as exc:
            conn.close()
            raise RunError(f"postgres: {self.conninfo.describe()}: "
                           f"{' '.join(str(exc).split())}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _resolve_databases(self, conn: psycopg.Connection[Any]) -> list[str] | None:
        wanted = self.config.databases
        if wanted is None:
            return [conn.info.dbname]
        if "*" in wanted:
            return None
        present = {r[0] for r in conn.execute(
            f"{TAG} SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate")}
        missing = [name for name in wanted if name not in present]
        if missing:
            raise RunError(f"postgres: no database named {', '.join(map(repr, missing))} on "
                           f"{self.conninfo.describe()} (listed under databases:)")
        return list(wanted)

    def _untrack_own_statements(self, conn: psycopg.Connection[Any]) -> None:
        """Keep the collector's statements out of pg_stat_statements where allowed."""
        # Not a superuser: the statements are filtered out by their leading comment instead.
        with contextlib.suppress(psycopg.Error):
            conn.execute(f"{TAG} SET pg_stat_statements.track = 'none'")

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = None
            conn = self._connect()
            if self._statements_source is not None:
                self._untrack_own_statements(conn)
            self._conn = conn
        return conn

    # -- sampling ------------------------------------------------------------------------
    def sample(self, now: float) -> None:
        # A sample stuck on a server that stopped answering must not hold up the run's end.
        if not self._lock.acquire(timeout=self.config.timeout + 1):
            self._sample_failed(TimeoutError(
                f"the previous sample is still waiting after {self.config.timeout:g}s"), now)
            return
        try:
            self._sample_locked(now)
        finally:
            self._lock.release()

    def _sample_locked(self, now: float) -> None:
        try:
            conn = self._connection()
        except RunError as exc:
            self._sample_failed(exc, now)
            return
        watchdog = Watchdog(conn, self.config.timeout)
        try:
            with watchdog:
                snap = read_snapshot(conn, names=self._names, probes=self.config.probes,
                                     statements=self._statements_source)
        except psycopg.Error as exc:
            reason: BaseException = exc
            if watchdog.fired:
                reason = TimeoutError(f"no answer within {self.config.timeout:g}s")
            self._sample_failed(reason, now)
            return
        self._record(snap)

    def _sample_failed(self, exc: BaseException, now: float) -> None:
        reason = " ".join(str(exc).split())
        if isinstance(exc, RunError):
            reason = reason.removeprefix("postgres: ")
        self.sample_failed(reason, now)

    def _record(self, snap: Snapshot) -> None:
        t = snap.at
        self.sample_succeeded(t)
        m = self.metrics
        for ms in snap.probe_ms:
            m.trend("postgres.probe_duration").add(ms, t)
        m.gauge("postgres.connections").add(snap.connections, t)
        m.gauge("postgres.max_connections").add(snap.max_connections, t)
        if snap.max_connections:
            m.gauge("postgres.connections_used", unit="%").add(
                100.0 * snap.connections / snap.max_connections, t)
        for name in snap.databases:
            m.gauge("postgres.locks_waiting", {"database": name}).add(
                snap.waiting_locks.get(name, 0), t)
        for replica in snap.replicas:
            tags = {"replica": replica.name}
            if replica.lag_bytes is not None:
                m.gauge("postgres.replication_lag_bytes", tags, unit="B").add(
                    max(replica.lag_bytes, 0.0), t)
            if replica.lag_ms is not None:
                m.gauge("postgres.replication_lag", tags, unit="ms").add(
                    max(replica.lag_ms, 0.0), t)
        previous, self._previous = self._previous, snap
        if previous is not None:
            self._record_database_deltas(previous, snap)
        if snap.statements is not None:
            for interval in self._statements.update(snap.statements):
                tags = {"database": interval.database}
                record_interval(m.trend("postgres.query_duration", tags), interval, t)
                m.counter("postgres.calls", tags).add(interval.calls, t)

    def _record_database_deltas(self, previous: Snapshot, snap: Snapshot) -> None:
        m, t = self.metrics, snap.at
        for name, now in snap.databases.items():
            before = previous.databases.get(name, {})
            d = {field: int(counter_delta(before.get(field), value))
                 for field, value in now.items()}
            tags = {"database": name}
            m.counter("postgres.transactions", tags).add(d["xact_commit"] + d["xact_rollback"], t)
            m.counter("postgres.rollbacks", tags).add(d["xact_rollback"], t)
            for metric, field in COUNTER_FIELDS.items():
                unit = "B" if field == "temp_bytes" else ""
                m.counter(metric, tags, unit=unit).add(d[field], t)
            blocks = d["blks_hit"] + d["blks_read"]
            if blocks > 0:
                m.rate("postgres.cache_hit_ratio", tags).add_counts(d["blks_hit"], blocks, t)

    # -- the end -------------------------------------------------------------------------
    def finish(self) -> None:
        top = []
        for key, win in self._statements.top(self.config.top_statements):
            entry = win.to_dict(key[2])
            text = win.query
            if len(text) > QUERY_TEXT_LIMIT:
                text = text[:QUERY_TEXT_LIMIT] + "..."
            entry["query"] = text
            top.append(entry)
        self._details = {
            "server": self.conninfo.describe(),
            "databases": self._names if self._names is not None else ["*"],
            **self.sampling_details(),
            "pg_stat_statements": self._statements_source is not None,
            "top_statements": top,
        }

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
