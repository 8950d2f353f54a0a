"""perfgate-postgres: what PostgreSQL did during a perfgate run.

The ``postgres`` collector samples ``pg_stat_statements``, ``pg_stat_database``,
``pg_stat_activity``, ``pg_locks`` and ``pg_stat_replication`` and reports deltas over the run
window. See the README for every metric and what it means.
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_postgres.collector import PostgresCollector
from perfgate_postgres.config import PostgresConfig

__all__ = ["PostgresCollector", "PostgresConfig", "perfgate_register_components"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Register the ``postgres`` collector."""
    register(PostgresCollector)
