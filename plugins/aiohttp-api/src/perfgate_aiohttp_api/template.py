"""Request bytes with holes: a templated request split once into fixed bytes and variables.

A request whose path, headers or body hold ``${name}`` is split, when the plan is built,
into the bytes around each ``${...}`` and the variable that fills it; rendering a request is
then one join, with ``Content-Length`` counted from the rendered body. The bytes are exactly
those :meth:`perfgate_aiohttp_api.plan.Prepared.render` builds the slow way (the tests
compare them): a value goes into the head as Latin-1, into a JSON body escaped as a JSON
string's content, into a text body as UTF-8. A value that cannot be written (a variable
never captured, a header value outside Latin-1) raises ``KeyError`` or ``ValueError``, as
the slow way does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from perfgate import TEMPLATE, template_value

#: How a value becomes bytes where its hole is.
Encode = Callable[[str], bytes]


def _latin1(value: str) -> bytes:
    return value.encode("latin-1")


def _utf8(value: str) -> bytes:
    return value.encode()


def _json_string(value: str) -> bytes:
    return json.dumps(value)[1:-1].encode()


class Pieces:
    """One text with ``${...}`` holes: fixed bytes, then (variable, bytes after it) pairs."""

    __slots__ = ("encode", "first", "holes")

    def __init__(self, text: str, encode: Encode) -> None:
        self.encode = encode
        parts = TEMPLATE.split(text)  # fixed, name, fixed, name, ..., fixed
        self.first = encode_fixed(parts[0], encode)
        self.holes = tuple((parts[i], encode_fixed(parts[i + 1], encode))
                           for i in range(1, len(parts), 2))

    def render(self, values: Mapping[str, str]) -> bytes:
        """The text's bytes with each hole filled (:func:`perfgate.template_value`)."""
        out = [self.first]
        encode = self.encode
        for name, after in self.holes:
            value = values.get(name)
            out.append(encode(value if value is not None else template_value(name, values)))
            out.append(after)
        return b"".join(out)


def encode_fixed(text: str, encode: Encode) -> bytes:
    """Fixed text as bytes; a JSON body's fixed text is already JSON."""
    return text.encode() if encode is _json_string else encode(text)


class RequestTemplate:
    """A request's head and body as :class:`Pieces`; :meth:`render` gives its bytes.

    ``head`` is the head up to its last header line, without ``Content-Length`` and the
    blank line; ``length`` says whether a ``Content-Length`` line follows it.
    """

    __slots__ = ("body", "head", "length", "tail")

    def __init__(self, head: str, body: str | None, json_body: bool, length: bool) -> None:
        self.head = Pieces(head, _latin1)
        self.body = Pieces(body, _json_string if json_body else _utf8) \
            if body is not None else None
        self.length = length
        #: The whole rest of the request when the body has no holes (or there is none).
        self.tail: bytes | None = None
        if self.body is None or not self.body.holes:
            fixed = self.body.first if self.body is not None else b""
            self.tail = self._tail(fixed)

    def _tail(self, body: bytes) -> bytes:
        length = b"\r\nContent-Length: %d" % len(body) if self.length else b""
        return length + b"\r\n\r\n" + body

    def render(self, values: Mapping[str, str]) -> bytes:
        """The request's bytes with ``values`` in its holes."""
        head = self.head.render(values) if self.head.holes else self.head.first
        tail = self.tail
        if tail is None:
            tail = self._tail(self.body.render(values))  # type: ignore[union-attr]
        return head + tail
