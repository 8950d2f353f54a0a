"""The ``postgres`` collector's options in the targets file."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from perfgate import SamplingConfig


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

    @field_validator("databases")
    @classmethod
    def _non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("list at least one database, or [\"*\"] for all of them")
        return value
