"""A Redis URL described without its password, and messages scrubbed of it."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, unquote, urlsplit

from perfgate.redact import Redactor


class RedisURL:
    """The URL as given (secret), what it may say in public, and a scrubber for messages."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parts = urlsplit(url)
            password = unquote(parts.password or "")
            password = password or parse_qs(parts.query).get("password", [""])[0]
            self.scheme = parts.scheme
            self.host = parts.hostname
            self.port = parts.port
            self.path = parts.path
            self.parse_error: str | None = None
        except ValueError as exc:
            password, self.scheme, self.host, self.port, self.path = "", "", None, None, ""
            self.parse_error = str(exc)
        secrets = [s for s in {password, quote(password, safe="")} if s]
        self._redactor = Redactor(secrets)

    def scrub(self, text: str) -> str:
        """``text`` with the password (plain or URL-encoded) and password shapes masked."""
        return self._redactor.text(text)

    def describe(self) -> str:
        """``127.0.0.1:6379/0``, or the socket path: never the user's password."""
        if self.parse_error is not None or self.scheme not in ("redis", "rediss", "unix"):
            return "the server in the url"
        if self.scheme == "unix":
            return self.scrub(self.path)
        db = self.path.strip("/") or "0"
        return self.scrub(f"{self.host or 'localhost'}:{self.port or 6379}/{db}")
