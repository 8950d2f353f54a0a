"""Keep secrets out of every report and message: secret values and password shapes become ``***``.

The run's secret values come from two places: the targets file's interpolations
(``${secret:NAME}``, and ``${env:NAME}`` when the name looks secret) and every ``SecretStr``
option of a validated config (:func:`secret_values`: a collector's ``dsn``, a ``url`` with a
password). A secret that is a URL or a connection string also hides the password inside it,
as written and URL-encoded, since a server's error message may quote just that part.
Beyond known values, URL passwords (``scheme://user:pw@host``), ``password=...`` pairs and
SQL ``PASSWORD '...'`` clauses are masked wherever they appear.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?=@)",
                           re.I)
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|\S+)", re.I)
_SQL_PASSWORD = re.compile(r"(?P<head>\bpassword\s+)(?P<pw>'(?:[^']|'')*'|\$(\w*)\$.*?\$\3\$)",
                           re.I | re.S)
#: A password found inside a secret URL or connection string is replaced in any text only
#: from this length on (a shorter one would mangle every message); the patterns above still
#: mask it where it stands as a password.
MIN_PART = 3


def secret_parts(secret: str) -> set[str]:
    """The passwords inside a secret URL or connection string, plain and URL-encoded."""
    passwords: set[str] = set()
    if "://" in secret:
        try:
            parts = urlsplit(secret)
            passwords.add(unquote(parts.password or ""))
            passwords.update(parse_qs(parts.query).get("password", []))
        except ValueError:
            pass
    for m in _KEYWORD_PASSWORD.finditer(secret):
        value = m.group("pw")
        if value[:1] in "'\"":
            value = re.sub(r"\\(.)", r"\1", value.strip(value[0]))
        passwords.add(value)
    out = set()
    for password in passwords:
        if len(password) >= MIN_PART:
            out.update({password, quote(password, safe="")})
    return out


def secret_values(value: Any) -> set[str]:
    """Every ``SecretStr`` / ``SecretBytes`` value inside a validated config, at any depth."""
    found: set[str] = set()
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, SecretBytes):
        found.add(value.get_secret_value().decode("utf-8", "replace"))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found |= secret_values(getattr(value, name, None))
    elif isinstance(value, dict):
        for item in value.values():
            found |= secret_values(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            found |= secret_values(item)
    return {s for s in found if s}


class Redactor:
    """Replaces secret values, URL passwords and ``password`` clauses in text and documents."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = {s for s in secrets if s}
        for secret in list(known):
            known |= secret_parts(secret)
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(known, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        value = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
        value = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
        return _SQL_PASSWORD.sub(lambda m: m.group("head") + f"'{MASK}'", value)

    def document(self, value: Any) -> Any:
        """A copy of ``value`` with every string redacted and non-finite floats as None."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {self.document(k) if isinstance(k, str) else k: self.document(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.document(v) for v in value]
        return value
