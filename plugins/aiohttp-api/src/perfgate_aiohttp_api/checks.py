"""Response checks, JSON paths, captures and ``${name}`` templates for flows."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfgate_aiohttp_api.scenario import TEMPLATE, RequestChecks

_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")
_MISSING = object()


def parse_path(path: str) -> list[str | int]:
    """``$.data.items[0].id`` or ``data.items.0.id`` → ``["data", "items", 0, "id"]``."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _PATH_PART.match(text, pos)
        if not m:
            raise ValueError(f"{path!r} is not a JSON path like data.items[0].id")
        key, index = m.groups()
        parts.append(int(index) if index is not None else key)
        pos = m.end()
    return parts


def lookup(doc: Any, parts: list[str | int]) -> Any:
    """The value at ``parts`` in a decoded JSON document, or ``_MISSING``."""
    value = doc
    for part in parts:
        if isinstance(value, Mapping):
            if not isinstance(part, str):
                part = str(part)
            if part not in value:
                return _MISSING
            value = value[part]
        elif isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return _MISSING
        else:
            return _MISSING
    return value


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _MISSING


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
        return self.body_contains is not None or bool(self.json_equals)

    def evaluate(self, status: int | str, body: bytes, doc: Any, duration_us: int) -> list[bool]:
        """One boolean per name, in order. ``status`` is a string when no response came."""
        out = []
        code = status if isinstance(status, int) else 0
        if self.status is not None:
            out.append(code in self.status)
        if self.body_contains is not None:
            out.append(self.body_contains in body)
        for parts, expected in self.json_equals:
            out.append(doc is not _MISSING and lookup(doc, parts) == expected)
        if self.max_duration_us is not None:
            out.append(bool(code) and duration_us <= self.max_duration_us)
        return out


def capture(doc: Any, paths: Mapping[str, list[str | int]]) -> dict[str, str | None]:
    """Values for each capture variable (``None`` when the path is missing)."""
    out: dict[str, str | None] = {}
    for name, parts in paths.items():
        value = lookup(doc, parts) if doc is not _MISSING else _MISSING
        if value is _MISSING or value is None:
            out[name] = None
        elif isinstance(value, str):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


def has_template(text: str | None) -> bool:
    return bool(text) and TEMPLATE.search(text) is not None  # type: ignore[arg-type]


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace ``${name}``; raises ``KeyError`` naming a variable that was never captured."""
    return TEMPLATE.sub(lambda m: values[m.group(1)], text)


def render_any(value: Any, values: Mapping[str, str]) -> Any:
    """Render templates inside a JSON body (strings at any depth)."""
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, list):
        return [render_any(v, values) for v in value]
    if isinstance(value, dict):
        return {render(k, values): render_any(v, values) for k, v in value.items()}
    return value


MISSING = _MISSING
