"""A virtual user's cookies: aiohttp's ``CookieJar`` (domain, path, expiry, ``Secure``
handled as RFC 6265 says), made when the first cookie comes.

``HttpOnly`` and ``SameSite`` restrict what a browser's scripts and cross-site navigations
see; a load generator has neither, so the jar keeps and sends those cookies as k6 does.
IP hosts (``127.0.0.1``) are accepted (``unsafe=True``).
"""

from __future__ import annotations

import contextlib
import time
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, Morsel, SimpleCookie

from aiohttp import CookieJar
from yarl import URL


def new_jar() -> CookieJar:
    return CookieJar(unsafe=True)


def parse_set_cookies(values: list[str]) -> list[Morsel[str]]:
    """The cookies of ``Set-Cookie`` values, one header each (a malformed one is skipped,
    as browsers and aiohttp's client do)."""
    out: list[Morsel[str]] = []
    for value in values:
        cookie: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            cookie.load(value)
        out.extend(cookie.values())
    return out


def store(jar: CookieJar, morsels: list[Morsel[str]], url: str) -> None:
    """Keep the cookies a response to ``url`` set (an expired one removes its name)."""
    cookie: SimpleCookie = SimpleCookie()
    for morsel in morsels:
        if not morsel["max-age"] and morsel["expires"] and _expired(morsel["expires"]):
            # aiohttp takes an Expires of the epoch itself (0, falsy) for none at all;
            # ``Max-Age=0`` is what it deletes by, and means the same (RFC 6265, 5.3).
            morsel["max-age"] = "0"
        cookie[morsel.key] = morsel
    jar.update_cookies(cookie, URL(url))


def _expired(expires: str) -> bool:
    try:
        return parsedate_to_datetime(expires).timestamp() <= time.time()
    except (TypeError, ValueError, IndexError):
        return False


def cookie_header(jar: CookieJar | None, url: str, own: dict[str, str]) -> str | None:
    """The ``Cookie`` value for a request to ``url``: the jar's cookies for it, then the
    request's own ``cookies:`` (which win over a jar cookie of the same name)."""
    pairs: dict[str, str] = {}
    if jar is not None and len(jar):
        for morsel in jar.filter_cookies(URL(url)).values():
            pairs[morsel.key] = morsel.value
    pairs.update(own)
    if not pairs:
        return None
    return "; ".join(f"{name}={value}" for name, value in pairs.items())


def with_header(data: bytes, name: str, value: str) -> bytes:
    """Request bytes ``data`` with one more header at the end of its head."""
    cut = data.index(b"\r\n\r\n")
    return data[:cut] + f"\r\n{name}: {value}".encode("latin-1") + data[cut:]
