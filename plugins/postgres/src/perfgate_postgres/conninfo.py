"""Connection strings without leaks: parse a DSN, describe it, and scrub its password.

Every message the collector records or raises passes through :meth:`ConnInfo.scrub`, which
removes the password itself (plain and URL-encoded) and anything shaped like one
(``password=...``, ``user:secret@host``, ``PASSWORD '...'`` in SQL text).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

_KEY_VALUE = re.compile(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]*)(@)")
_SQL_PASSWORD = re.compile(r"(?is)(\bpassword\s+)('(?:[^']|'')*'|\$(\w*)\$.*?\$\3\$)")
#: Shorter passwords are not replaced inside arbitrary text (it would mangle every message);
#: the patterns above still catch them where they appear as passwords.
_MIN_LITERAL = 3
MASK = "***"


def scrub_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every password-shaped part and every one of ``secrets`` masked."""
    text = _URL_USERINFO.sub(rf"\1{MASK}\3", text)
    text = _KEY_VALUE.sub(rf"\1{MASK}", text)
    text = _SQL_PASSWORD.sub(rf"\1'{MASK}'", text)
    for secret in secrets:
        if len(secret) >= _MIN_LITERAL:
            text = text.replace(secret, MASK)
    return text


class ConnInfo:
    """A libpq connection string (``key=value`` or ``postgresql://`` URL) and its secret."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        try:
            self.params: dict[str, str] = {
                k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
            self.parse_error: str | None = None
        except Exception as exc:  # a malformed DSN; connecting reports it again, scrubbed
            self.params = {}
            self.parse_error = str(exc)
        password = self.params.get("password", "")
        self._secrets = tuple(s for s in {password, quote(password, safe="")} if s)

    def scrub(self, text: str) -> str:
        """``text`` with the password and anything password-shaped masked."""
        return scrub_text(text, self._secrets)

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
        return self.scrub(where)
