"""A Redis URL described without its password.

The URL is a ``SecretStr`` option, so perfgate masks it, and the password inside it (as
written and URL-encoded, in the userinfo or a ``password=`` query parameter), in every
message and report.
"""

from __future__ import annotations

from urllib.parse import urlsplit


class RedisURL:
    """The URL as given (secret), and what it may say in public."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parts = urlsplit(url)
            self.scheme = parts.scheme
            self.host = parts.hostname
            self.port = parts.port
            self.path = parts.path
            self.parse_error: str | None = None
        except ValueError as exc:
            self.scheme, self.host, self.port, self.path = "", None, None, ""
            self.parse_error = str(exc)

    def describe(self) -> str:
        """``127.0.0.1:6379/0``, or the socket path: never the user's password."""
        if self.parse_error is not None or self.scheme not in ("redis", "rediss", "unix"):
            return "the server in the url"
        if self.scheme == "unix":
            return self.path
        db = self.path.strip("/") or "0"
        return f"{self.host or 'localhost'}:{self.port or 6379}/{db}"
