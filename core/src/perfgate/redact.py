"""Keep secrets out of every report and message: secret values and password shapes become ``***``.

The run's secret values come from two places: the targets file's interpolations
(``${secret:NAME}``, and ``${env:NAME}`` when the name looks secret) and every ``SecretStr``
option of a validated config (:func:`secret_values`: a collector's ``dsn``, a ``url`` with a
password). A secret that is a URL or a connection string also hides the password inside it,
as written and URL-encoded, since a server's error message may quote just that part.
Each secret is masked in the forms it takes on its way into a message, not only as written:
percent-encoded (``encodeURIComponent``, the ``http`` driver's ``query:``, upper- and
lower-case hex), JSON-escaped, base64 (standard and URL-safe, alone or inside a longer
encoded text such as ``Authorization: Basic base64(user:secret)``), and cut short (a run of
at least :data:`MIN_PARTIAL` characters from its start or end, as a truncated message shows
it). A password with ``/``, ``?`` or ``#`` inside a secret URL is also masked piece by piece,
since a URL parser stops there and may quote the first piece.
Beyond known values, URL passwords (``scheme://user:pw@host``), ``password=...`` pairs and
SQL ``PASSWORD '...'`` clauses are masked wherever they appear.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "***"
#: ``scheme://user:password@``; the password may hold a ``/`` that should have been encoded.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^/\s:@]*:)(?P<pw>[^@\s]+)(?=@)",
                           re.I)
#: The userinfo of a URL, up to its last ``@``: what a parser gets wrong when the password
#: holds ``/``, ``?`` or ``#``.
_USERINFO = re.compile(r"^[a-z][a-z0-9+.\-]*://[^/\s:@]*:(?P<pw>[^\s]*)@[^@\s]*$", re.I)
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|\S+)", re.I)
_SQL_PASSWORD = re.compile(r"(?P<head>\bpassword\s+)(?P<pw>'(?:[^']|'')*'|\$(\w*)\$.*?\$\3\$)",
                           re.I | re.S)
_PASSWORD_WORD = re.compile("password", re.I)
#: A password found inside a secret URL or connection string is replaced in any text only
#: from this length on (a shorter one would mangle every message); the patterns above still
#: mask it where it stands as a password.
MIN_PART = 3
#: Encoded forms (base64) are masked for secrets from this length on.
MIN_ENCODED = 6
#: A secret cut short is masked when this many of its first or last characters show.
MIN_PARTIAL = 8


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
        userinfo = _USERINFO.match(secret)
        raw = userinfo.group("pw") if userinfo else ""
        if re.search(r"[/?#]", raw):  # urlsplit cut the URL short at that character
            passwords.add(raw)
            passwords.update(p for p in re.split(r"[/?#]", raw) if p)
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


def userinfo_problem(url: str) -> str | None:
    """Why the user or password in ``url`` would be misread, without quoting any of it.

    A ``/``, ``?`` or ``#`` ends a URL's host part, so ``redis://:pa/ss@host`` is read as
    the host ``""`` with the port ``pa``, and the parser's error then quotes part of the
    password. None when the userinfo is fine (or there is none).
    """
    userinfo = _USERINFO.match(url)
    found = sorted(set(re.findall(r"[/?#]", userinfo.group("pw")))) if userinfo else []
    if not found:
        return None
    codes = ", ".join(f"{c!r} as {quote(c, safe='')}" for c in found)
    return (f"the user or password in the URL holds {', '.join(map(repr, found))}, which ends "
            f"a URL's host part: percent-encode it ({codes})")


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def base64_cores(secret: bytes) -> set[str]:
    """The base64 text that shows ``secret`` wherever it stands in longer encoded bytes.

    Encoded in groups of three bytes, ``secret`` looks different at each of the three
    offsets it can have; at each, the characters made only of its own bytes are the same
    whatever surrounds it (``user:secret`` in a Basic authorization, a JSON token).
    """
    out = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        core = encoded[4 if offset else 0:4 * ((offset + len(secret)) // 3)]
        if len(core) >= 8:
            out.update({core, core.replace("+", "-").replace("/", "_")})
    return out


def secret_forms(secret: str) -> set[str]:
    """``secret`` and the forms it takes when encoded on its way into a message."""
    forms = {secret, json.dumps(secret)[1:-1]}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms.update({encoded, _lower_hex(encoded)})
    if len(secret) >= MIN_ENCODED:
        raw = secret.encode()
        for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms.update({encoded, encoded.rstrip("=")})
        forms |= base64_cores(raw)
    return {f for f in forms if f}


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
        #: The secrets as given and the passwords inside them, longest first.
        self.secrets = sorted(known, key=len, reverse=True)
        forms = set().union(*(secret_forms(s) for s in known)) if known else set()
        # Longest first, so a secret that contains another is masked whole.
        self._forms = (re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
                       if forms else None)
        # A URL or connection string shares its start (the scheme) and end (host, port,
        # database) with public text; the passwords inside it are in ``secrets`` already.
        self._partial = [(s, s[:MIN_PARTIAL], s[-MIN_PARTIAL:]) for s in self.secrets
                         if len(s) > MIN_PARTIAL and "://" not in s
                         and not _KEYWORD_PASSWORD.search(s)
                         and not any(c.isspace() for c in s)]

    def text(self, value: str) -> str:
        if self._forms is not None:
            value = self._forms.sub(MASK, value)
        for secret, head, tail in self._partial:
            if head in value or tail in value:
                value = _mask_partial(value, secret)
        if "://" in value:
            value = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
        if _PASSWORD_WORD.search(value):
            value = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
            value = _SQL_PASSWORD.sub(lambda m: m.group("head") + f"'{MASK}'", value)
        return value

    def document(self, value: Any, keys: bool = False) -> Any:
        """A copy of ``value`` with every string value redacted and non-finite floats as None.

        Dict keys are names (``expression``, ``p(95)``, a tag's name) and stay as they are:
        a short secret masked inside them would break the document's structure. With
        ``keys=True`` they are redacted too, for free-form data keyed by what a component
        saw (an endpoint with a token in its query).
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {self.text(k) if keys and isinstance(k, str) else k: self.document(v, keys)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.document(v, keys) for v in value]
        return value


def _mask_partial(text: str, secret: str) -> str:
    """Mask runs of at least :data:`MIN_PARTIAL` characters from the start or the end of
    ``secret``: a secret cut short, or quoted only in part."""
    head, tail = secret[:MIN_PARTIAL], secret[-MIN_PARTIAL:]
    spans = []
    at = text.find(head)
    while at != -1:
        end = at + MIN_PARTIAL
        while end < len(text) and end - at < len(secret) and text[end] == secret[end - at]:
            end += 1
        spans.append((at, end))
        at = text.find(head, end)
    at = text.find(tail)
    while at != -1:
        start, rest = at, len(secret) - MIN_PARTIAL
        while start > 0 and rest > 0 and text[start - 1] == secret[rest - 1]:
            start, rest = start - 1, rest - 1
        spans.append((start, at + MIN_PARTIAL))
        at = text.find(tail, at + MIN_PARTIAL)
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if end <= last:
            continue
        if start >= last:
            out.append(text[last:start])
            out.append(MASK)
        last = end
    out.append(text[last:])
    return "".join(out)
