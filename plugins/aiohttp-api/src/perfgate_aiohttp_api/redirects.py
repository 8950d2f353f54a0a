"""Following redirects as k6 (Go's ``net/http``) does.

``301``, ``302`` and ``303`` continue with ``GET`` (a ``HEAD`` stays ``HEAD``) and no body;
``307`` and ``308`` repeat the method and the body. ``Authorization`` and ``Cookie`` are
not carried to another host (the cookie jar adds the new host's own cookies). Where each hop
goes is checked against the allowed hosts before anything is sent there (by the engine).
"""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin

from perfgate_aiohttp_api.plan import build_request, origin_of

REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Headers the next request gets anew, or (``_PRIVATE``) not at all on another host.
_REBUILT = frozenset({"host", "content-length", "cookie"})
_BODY = frozenset({"content-type", "content-encoding"})
_PRIVATE = frozenset({"authorization", "cookie"})


def next_url(url: str, location: str) -> str:
    """Where ``Location`` sends a request to ``url`` (relative references resolved)."""
    return urldefrag(urljoin(url, location.strip())).url


def hop_request(data: bytes, status: int, method: str, url: str,
                new_url: str) -> tuple[str, bytes]:
    """``(method, bytes)`` of the request that follows a ``status`` response to the
    request ``data`` (``method`` to ``url``); ``new_url`` is where it goes. Raises
    ``ValueError`` when ``new_url`` is not an http(s) URL."""
    head, _, body = data.partition(b"\r\n\r\n")
    keep_body = status in (307, 308)
    if not keep_body and method not in ("GET", "HEAD"):
        method = "GET"
    (_, host, _), host_header, target = origin_of(new_url)
    same_host = host == (origin_of(url)[0][1])
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        if key in _REBUILT or (not keep_body and key in _BODY) or (
                not same_host and key in _PRIVATE):
            continue
        headers[name.strip()] = value.strip()
    return method, build_request(method, host_header, target, headers,
                                 body if keep_body and body else None)
