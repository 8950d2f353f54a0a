"""The ``postgres`` collector's options in the targets file."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, SecretStr, field_validator

from perfgate import SamplingConfig, userinfo_problem

#: Said instead of libpq's own message, which quotes the text around the mistake.
INVALID_DSN = ("not a valid connection string; expected key=value pairs (host=... dbname=...) "
               "or a postgresql://user:password@host:port/dbname URL")


def dsn_problem(dsn: str) -> str | None:
    """Why ``dsn`` cannot be used, never quoting any of it; None if it can."""
    if "://" in dsn:
        problem = userinfo_problem(dsn)
        if problem is not None:
            return problem
    try:
        conninfo_to_dict(dsn)
    except Exception:  # psycopg.ProgrammingError, quoting the DSN
        return INVALID_DSN
    return None


class PostgresConfig(SamplingConfig):
    """Options of the ``postgres`` collector::

        collectors:
          postgres:
            dsn: ${env:PERFGATE_PG_DSN}   # never written in the file itself
            interval: 1s
            databases: [app]             # default: the database the dsn connects to
            top_statements: 10

    ``interval`` (1s) and ``timeout`` (5s) come from :class:`perfgate.SamplingConfig`.
    """

    #: A libpq connection string or ``postgresql://`` URL. Kept secret: never printed.
    dsn: SecretStr
    #: Databases whose activity is measured; ``["*"]`` for every database on the server.
    #: Default: the database the dsn connects to.
    databases: list[str] | None = None
    #: How many of the slowest statements (by total time in the run) go into the report.
    top_statements: int = Field(default=10, ge=0, le=1000)
    #: Timed probe queries per sample (``postgres.probe_duration``); 0 turns probing off.
    probes: int = Field(default=3, ge=0, le=100)
    #: Propose the built-in checks (query p95, connection headroom, cache hit ratio).
    builtin_targets: bool = True

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: SecretStr) -> SecretStr:
        problem = dsn_problem(value.get_secret_value())
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("databases")
    @classmethod
    def _non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("list at least one database, or [\"*\"] for all of them")
        return value
