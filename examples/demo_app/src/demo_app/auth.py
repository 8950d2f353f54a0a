"""Demo sign-in: any user name with the shared demo password gets a bearer token.

This exists so load scenarios can run a user flow (log in, capture the token, use it); it is
not a model of how to store credentials.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict

#: The password every demo user signs in with.
DEMO_PASSWORD = "demo"


class TokenStore:
    """Issued tokens and whom they belong to, bounded in number and lifetime."""

    def __init__(self, ttl: float = 3600.0, max_tokens: int = 100_000) -> None:
        self.ttl = ttl
        self.max_tokens = max_tokens
        self._tokens: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.logins = 0

    def login(self, username: str, password: str) -> str | None:
        """A new token for ``username``, or None when the password is wrong."""
        if not secrets.compare_digest(password.encode(), DEMO_PASSWORD.encode()):
            return None
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (time.monotonic() + self.ttl, username)
        while len(self._tokens) > self.max_tokens:
            self._tokens.popitem(last=False)
        self.logins += 1
        return token

    def user(self, token: str) -> str | None:
        """The user a live token belongs to, or None."""
        entry = self._tokens.get(token)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._tokens[token]
            return None
        return entry[1]
