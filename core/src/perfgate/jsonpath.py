"""JSON paths, captures and ``${name}`` templates: how ``checks.json`` and ``capture`` read.

The standard library only, and each function self-contained but for :data:`MISSING`,
:data:`TEMPLATE` and the imports below: a driver whose load runs in another program (the
``locust`` driver's generated locustfile, on worker machines without perfgate) ships these
functions' source with it, so every driver reads paths and fills templates the same way.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Mapping
from typing import Any

#: ``${name}`` in a path, URL, header or body is replaced by a variable's value: one captured
#: earlier in a flow, an iteration's (``vu``, ``iteration``, ``users.name`` of a data file),
#: or one new at each use (``uuid``, ``random_int:1:100``).
TEMPLATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)?"
                      r"|random_int:-?[0-9]+:-?[0-9]+)\}")
_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


class _Missing:
    """No value at a path (JSON ``null`` is ``None``, a value)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def parse_json_path(path: str) -> list[str | int]:
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


def json_lookup(doc: Any, parts: list[str | int]) -> Any:
    """The value at ``parts`` in a decoded JSON document, or :data:`MISSING`."""
    value = doc
    for part in parts:
        if value.__class__ is dict and part.__class__ is str:  # decoded JSON: no ABC check
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, Mapping):
            if not isinstance(part, str):
                part = str(part)
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
    return value


def decode_json(body: bytes) -> Any:
    """The decoded document, or :data:`MISSING` when the body is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return MISSING


def json_capture(doc: Any, paths: Mapping[str, list[str | int]]) -> dict[str, str | None]:
    """Values for each capture variable (``None`` when the path is missing or ``null``)."""
    out: dict[str, str | None] = {}
    for name, parts in paths.items():
        value = json_lookup(doc, parts) if doc is not MISSING else MISSING
        if value is MISSING or value is None:
            out[name] = None
        elif isinstance(value, str):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


def has_template(text: str | None) -> bool:
    """Whether ``text`` holds a ``${name}``."""
    return bool(text) and TEMPLATE.search(text) is not None  # type: ignore[arg-type]


def template_value(name: str, values: Mapping[str, str]) -> str:
    """The value of ``${name}``: ``values[name]``; else, new at each use, a random UUID for
    ``uuid`` and MIN to MAX (both included) for ``random_int:MIN:MAX``. Raises ``KeyError``
    naming a variable without a value (one that was never captured)."""
    if name in values:
        return values[name]
    if name == "uuid":
        return str(uuid.uuid4())
    if name.startswith("random_int:"):
        _, low, high = name.split(":")
        return str(random.randint(int(low), int(high)))
    raise KeyError(name)


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``${name}`` with its :func:`template_value`; ``${uuid}`` and
    ``${random_int:MIN:MAX}`` are new at each use. Raises ``KeyError`` naming a variable
    without a value (one that was never captured)."""
    return TEMPLATE.sub(lambda match: template_value(match.group(1), values), text)


def render_templates(value: Any, values: Mapping[str, str]) -> Any:
    """Render templates inside a JSON body (strings and keys at any depth)."""
    if isinstance(value, str):
        return render_template(value, values)
    if isinstance(value, list):
        return [render_templates(v, values) for v in value]
    if isinstance(value, dict):
        return {render_template(k, values): render_templates(v, values)
                for k, v in value.items()}
    return value
