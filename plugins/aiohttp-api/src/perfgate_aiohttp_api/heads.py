"""A response's head, parsed only when a request needs it: for a redirect's ``Location``,
``Set-Cookie`` for the cookie jar, ``Content-Encoding``, and ``header:`` captures.

The connection keeps the bytes that came up to the end of the final headers anyway
(:attr:`client.Connection.head_bytes`), so a response nobody asks about costs nothing more.
"""

from __future__ import annotations

from perfgate_aiohttp_api.client import is_interim


class ResponseHead:
    """The final response's header fields: names in lower case, values in order."""

    __slots__ = ("fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (lower case), or None."""
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        """Every value of ``name`` (lower case): ``Set-Cookie`` comes once per cookie."""
        return [value for key, value in self.fields if key == name]

    def joined(self, name: str) -> str | None:
        """The values of ``name`` joined by ``, `` (RFC 9110, 5.3), or None."""
        values = self.all(name)
        return ", ".join(values) if values else None


def parse_head(chunks: list[bytes]) -> ResponseHead:
    """The final head among ``chunks`` (interim ``1xx`` heads skipped)."""
    data = b"".join(chunks)
    pos = 0
    while True:
        end = data.find(b"\r\n\r\n", pos)
        block = data[pos:] if end < 0 else data[pos:end]
        lines = block.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if end >= 0 and len(status) > 1 and status[1].isdigit() and is_interim(
                int(status[1])):
            pos = end + 4
            continue
        fields = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                fields.append((name.strip().lower(), value.strip()))
        return ResponseHead(fields)


def sets_cookie(chunks: list[bytes]) -> bool:
    """Whether the head in ``chunks`` may hold a ``Set-Cookie``: in the usual case (the
    head in one piece, no interim head before it) a plain look for ``ookie:`` in what
    came, the head only when much came; :func:`parse_head` confirms a yes (a body that
    says ``cookie:`` is a yes it turns into a no)."""
    if len(chunks) == 1:
        chunk = chunks[0]
        if len(chunk) > 9 and chunk[9] != 0x31:  # "HTTP/1.1 1xx": an interim head first
            if len(chunk) > 4096:
                end = chunk.find(b"\r\n\r\n")
                if end >= 0:
                    chunk = chunk[:end]
            return b"ookie:" in chunk or b"OOKIE:" in chunk
    return bool(parse_head(chunks).all("set-cookie"))
