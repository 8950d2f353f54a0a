"""A connection string described without its secrets.

The DSN is a ``SecretStr`` option, so perfgate masks it, and the password inside it (as written
and URL-encoded), in every message and report; :meth:`ConnInfo.describe` names the server
without ever reading the password.
"""

from __future__ import annotations

import os

from psycopg.conninfo import conninfo_to_dict


class ConnInfo:
    """A libpq connection string (``key=value`` or ``postgresql://`` URL)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        try:
            self.params: dict[str, str] = {
                k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
            self.parse_error: str | None = None
        except Exception as exc:  # a malformed DSN; connecting reports it again
            self.params = {}
            self.parse_error = str(exc)

    def describe(self) -> str:
        """Where the DSN points, without secrets: ``127.0.0.1:5432/test as postgres``."""
        if self.parse_error is not None:
            return "the server in the dsn"
        host = self.params.get("host") or self.params.get("hostaddr") or "local socket"
        port = self.params.get("port")
        where = f"{host}:{port}" if port else host
        if self.params.get("dbname"):
            where += f"/{self.params['dbname']}"
        if self.params.get("user"):
            where += f" as {self.params['user']}"
        return where

    def network_hosts(self) -> list[str]:
        """The hosts and addresses libpq may connect to over the network, as the DSN (or,
        without one there, ``PGHOST`` / ``PGHOSTADDR``) gives them; Unix socket folders are
        left out."""
        params = self.params
        found: list[str] = []
        for key, env in (("host", "PGHOST"), ("hostaddr", "PGHOSTADDR")):
            value = params[key] if key in params else os.environ.get(env, "")
            found.extend(h.strip() for h in value.split(","))
        return [h for h in found if h and not h.startswith(("/", "@"))]
