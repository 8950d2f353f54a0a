"""The ``postgres`` collector's options in the targets file."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from perfgate import ComponentConfig, Duration


class PostgresConfig(ComponentConfig):
    """Options of the ``postgres`` collector::

        collectors:
          postgres:
            dsn: ${env:PERFGATE_PG_DSN}   # never written in the file itself
            interval: 1s
            databases: [app]             # default: the database the dsn connects to
            top_statements: 10
    """

    #: A libpq connection string or ``postgresql://`` URL. Kept secret: never printed.
    dsn: SecretStr
    #: Time between samples.
    interval: Duration = 1.0
    #: Databases whose activity is measured; ``["*"]`` for every database on the server.
    #: Default: the database the dsn connects to.
    databases: list[str] | None = None
    #: How many of the slowest statements (by total time in the run) go into the report.
    top_statements: int = Field(default=10, ge=0, le=1000)
    #: Timed probe queries per sample (``postgres.probe_duration``); 0 turns probing off.
    probes: int = Field(default=3, ge=0, le=100)
    #: How long connecting, or one sample, may take before the server counts as not
    #: answering (a sample still waiting then is aborted and recorded as failed).
    timeout: Duration = 5.0
    #: Propose the built-in checks (query p95, connection headroom, cache hit ratio).
    builtin_targets: bool = True

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("interval must be more than 0s")
        return value

    @field_validator("databases")
    @classmethod
    def _non_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("list at least one database, or [\"*\"] for all of them")
        return value
