"""A throwaway PostgreSQL cluster for tests: ``initdb`` into a temporary folder, its own port.

::

    with TemporaryCluster(settings={"shared_preload_libraries": "'pg_stat_statements'"}) as pg:
        psycopg.connect(pg.dsn())

The server binaries come from ``PERFGATE_PG_BINDIR``, else the newest
``/usr/lib/postgresql/<version>/bin``, else ``PATH``. PostgreSQL refuses to run as root, so
when the tests run as root every server command runs as the ``postgres`` user (``runuser``)
and the folder is handed to that user. :meth:`TemporaryCluster.stop` stops the server by its
postmaster PID if ``pg_ctl`` cannot, and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from perfgate.testing import free_port

SERVER_USER = "postgres"
#: The file in the data folder that holds the port, the socket folder and the test's settings.
LOCAL_CONF = "perfgate-test.conf"


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are, or None if PostgreSQL's server is not installed."""
    env = os.environ.get("PERFGATE_PG_BINDIR")
    if env:
        return Path(env)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class TemporaryCluster:
    """A PostgreSQL cluster of its own in a temporary folder, on a free port.

    :param settings: ``postgresql.conf`` settings appended last (values as written in the
        file: ``"'pg_stat_statements'"``, ``"100ms"``).
    :param include: a configuration file to include (copied into the cluster folder).
    :param hba: ``pg_hba.conf`` lines placed before the trust rules for local connections.
    """

    def __init__(self, settings: Mapping[str, str] | None = None, include: Path | None = None,
                 hba: Sequence[str] = (), bindir: Path | None = None) -> None:
        self.settings = dict(settings or {})
        self.include = include
        self.hba = list(hba)
        found = bindir or find_bindir()
        if found is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                                    "install postgresql or set PERFGATE_PG_BINDIR")
        self.bindir = found
        self.port = 0
        self.root: Path | None = None
        self.pid: int | None = None

    # -- paths and commands --------------------------------------------------------------
    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def _as_server_user(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *args]
        return args

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._as_server_user(list(args)), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> TemporaryCluster:
        """initdb, configure and start; raise ``RuntimeError`` with the server log on failure."""
        self.root = Path(tempfile.mkdtemp(prefix="perfgate-pg-"))
        try:
            self._create()
            self.port = free_port()
            self.start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self) -> None:
        assert self.root is not None
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        done = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        hba = [*self.hba,
               "local all all trust",
               "host all all 127.0.0.1/32 trust",
               "host all all ::1/128 trust",
               "host replication all 127.0.0.1/32 trust"]
        (self.data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        lines = []
        if self.include is not None:
            copy = self.root / self.include.name
            shutil.copyfile(self.include, copy)
            copy.chmod(0o644)
            lines.append(f"include '{copy}'")
        lines.append(f"include '{LOCAL_CONF}'")  # port, socket and settings: last, so they win
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# perfgate TemporaryCluster\n")
            for line in lines:
                conf.write(line + "\n")

    def replica(self, settings: Mapping[str, str] | None = None) -> TemporaryCluster:
        """A streaming replica of this (running) cluster, started on a port of its own."""
        replica = TemporaryCluster(settings=settings, bindir=self.bindir)
        replica.root = Path(tempfile.mkdtemp(prefix="perfgate-pg-replica-"))
        try:
            if os.geteuid() == 0:
                user = pwd.getpwnam(SERVER_USER)
                os.chown(replica.root, user.pw_uid, user.pw_gid)
            done = replica._run(str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                                str(self.port), "-U", "postgres", "-D", str(replica.data),
                                "-R", "-X", "stream", "-c", "fast", "--no-sync", timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"pg_basebackup failed:\n{done.stdout}\n{done.stderr}")
            replica.port = free_port()
            replica.start_server()
        except BaseException:
            replica.stop()
            raise
        return replica

    def start_server(self) -> None:
        """Start (or restart after :meth:`stop_server`) the server on :attr:`port`."""
        assert self.root is not None
        conf = self.data / LOCAL_CONF
        settings = {"port": str(self.port), "listen_addresses": "'127.0.0.1'",
                    "unix_socket_directories": f"'{self.root}'", **self.settings}
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        done = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                         str(self.logfile), "-w", "-t", "60", "start", timeout=90)
        if done.returncode != 0:
            raise RuntimeError(f"the temporary PostgreSQL did not start:\n{done.stdout}\n"
                               f"{done.stderr}\n{self.log_tail()}")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` or ``immediate``), keeping the cluster's folder."""
        if self.pid is None:
            return
        done = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                         "-t", "30", "stop", timeout=60)
        if done.returncode != 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGQUIT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def stop(self) -> None:
        """Stop the server and remove the folder."""
        try:
            self.stop_server()
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def __enter__(self) -> TemporaryCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- using it ------------------------------------------------------------------------
    def dsn(self, dbname: str = "postgres", user: str = "postgres",
            password: str | None = None) -> str:
        """A key=value connection string to this cluster over TCP."""
        dsn = f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"
        if password is not None:
            dsn += f" password={password}"
        return dsn

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection[Any]:
        """An autocommit connection as the superuser ``postgres``."""
        return psycopg.connect(self.dsn(dbname), autocommit=True, **kwargs)

    def execute(self, *statements: str, dbname: str = "postgres") -> None:
        """Run statements as the superuser, each on its own (CREATE DATABASE needs that)."""
        with self.connect(dbname) as conn:
            for statement in statements:
                conn.execute(statement)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def commit_and_roll_back(conn: psycopg.Connection[Any], commits: int, rollbacks: int) -> None:
    """A known workload: ``commits`` one-statement transactions, then ``rollbacks`` rolled back."""
    for i in range(commits):
        conn.execute("SELECT %s::int", (i,))
    for _ in range(rollbacks):
        try:
            with conn.transaction():
                conn.execute("SELECT 1")
                raise LookupError
        except LookupError:
            pass


def close_and_flush(conn: psycopg.Connection[Any], monitor: psycopg.Connection[Any],
                    timeout: float = 10.0) -> None:
    """Close ``conn`` and wait until its backend is gone, so its statistics are in the views.

    A backend flushes its counters to ``pg_stat_database`` lazily (up to seconds later) but
    always before it leaves ``pg_stat_activity``; ``monitor`` is another autocommit connection.
    """
    pid = conn.info.backend_pid
    conn.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = monitor.execute("SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = %s",
                              (pid,)).fetchone()
        if row is None:
            return
        time.sleep(0.02)
    raise TimeoutError(f"backend {pid} did not exit within {timeout:g}s")
