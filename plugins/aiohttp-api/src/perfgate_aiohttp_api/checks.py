"""Response checks, JSON paths, captures and ``${name}`` templates for flows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from perfgate import MISSING, RequestChecks, decode_json
from perfgate import json_lookup as lookup
from perfgate import parse_json_path as parse_path


def decode(body: bytes) -> Any:
    """:func:`perfgate.decode_json`, with orjson: the same document, in a fraction of the
    time. What orjson refuses and Python's ``json`` takes (``NaN``, integers beyond 64 bits)
    is decoded by ``json``, so a body decodes exactly as it does elsewhere in perfgate."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return decode_json(body)


@dataclass(frozen=True)
class CompiledChecks:
    """The checks of one request, ready to evaluate against a response."""

    names: tuple[str, ...]
    status: frozenset[int] | None
    body_contains: bytes | None
    json_equals: tuple[tuple[list[str | int], Any], ...]
    max_duration_us: int | None

    @classmethod
    def build(cls, spec: RequestChecks) -> CompiledChecks:
        status = None
        if spec.status is not None:
            status = frozenset([spec.status] if isinstance(spec.status, int) else spec.status)
        return cls(
            names=tuple(spec.names()),
            status=status,
            body_contains=spec.body_contains.encode() if spec.body_contains is not None
            else None,
            json_equals=tuple((parse_path(p), v) for p, v in (spec.json_equals or {}).items()),
            max_duration_us=round(spec.max_duration * 1e6)
            if spec.max_duration is not None else None,
        )

    @property
    def needs_body(self) -> bool:
        """Whether the whole body must be kept: JSON checks need it; ``body_contains`` is
        searched for while the body streams in (``client.BodySearch``)."""
        return bool(self.json_equals)

    def count(self, counts: list[list[int]], status: int | str, contains: bool, doc: Any,
              duration_us: int) -> None:
        """Add each check's outcome to its ``[passes, total]`` in ``counts`` (in the order of
        :attr:`names`): :meth:`evaluate` without the list, for the hot loop."""
        code = status if status.__class__ is int else 0
        i = 0
        if self.status is not None:
            counts[0][0] += code in self.status
            i = 1
        if self.body_contains is not None:
            counts[i][0] += bool(code) and contains
            i += 1
        for parts, expected in self.json_equals:
            counts[i][0] += doc is not MISSING and lookup(doc, parts) == expected
            i += 1
        if self.max_duration_us is not None:
            counts[i][0] += bool(code) and duration_us <= self.max_duration_us
        for pair in counts:
            pair[1] += 1

    def evaluate(self, status: int | str, contains: bool, doc: Any,
                 duration_us: int) -> list[bool]:
        """One boolean per name, in order. ``status`` is a string when no response came;
        ``contains``: the body held ``body_contains``."""
        out = []
        code = status if isinstance(status, int) else 0
        if self.status is not None:
            out.append(code in self.status)
        if self.body_contains is not None:
            out.append(bool(code) and contains)
        for parts, expected in self.json_equals:
            out.append(doc is not MISSING and lookup(doc, parts) == expected)
        if self.max_duration_us is not None:
            out.append(bool(code) and duration_us <= self.max_duration_us)
        return out
