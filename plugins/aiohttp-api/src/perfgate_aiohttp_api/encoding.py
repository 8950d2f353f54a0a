"""Compressed response bodies decoded for checks and captures: gzip, deflate, br, zstd.

Only a request whose check or capture reads the body decodes it, and only when the
scenario asks for compression (``accept_encoding``); ``data_received`` counts the bytes on
the wire either way. A body that does not decode stays as it came (its checks fail).
"""

from __future__ import annotations

import zlib

import brotli
import zstandard


def _gzip(data: bytes) -> bytes:
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)


def _deflate(data: bytes) -> bytes:
    """``deflate`` is zlib-wrapped (RFC 9110, 8.4.1.2); some servers send it raw."""
    try:
        return zlib.decompressobj(zlib.MAX_WBITS).decompress(data)
    except zlib.error:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data)


def _zstd(data: bytes) -> bytes:
    # a streaming decompressor: frames need not say their size
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


DECODERS = {"gzip": _gzip, "x-gzip": _gzip, "deflate": _deflate, "br": brotli.decompress,
            "zstd": _zstd, "identity": lambda data: data}


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """``body`` with its codings undone, the last applied first; as it came when a coding
    is unknown or the data does not decode."""
    if not content_encoding:
        return body
    data = body
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        decoder = DECODERS.get(coding)
        if decoder is None:
            return body
        try:
            data = decoder(data)
        except (zlib.error, brotli.error, zstandard.ZstdError):
            return body
    return data
