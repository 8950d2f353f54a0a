"""YAML with line numbers: every value's position, and ``${env:NAME}`` interpolation.

:func:`load_yaml` returns plain Python data plus a :class:`LineMap` from key paths
(``("scenarios", "load", "vus")``) to where the key and its value stand in the file, so that
errors found later (by pydantic, by the judge) can still name the file, line and key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from perfgate.errors import ConfigError, ConfigErrors, Location
from perfgate.redact import Redactor

Path_ = tuple[str | int, ...]

#: ``${env:NAME}``, ``${env:NAME:-default}``, and ``${secret:NAME}`` (always redacted).
INTERPOLATION = re.compile(r"\$\{(env|secret):([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: Environment variables whose values are treated as secrets even when read with ``env:``.
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|DSN|AUTH|CRED|PRIVATE|COOKIE", re.I)

#: A targets file is read whole, so its size is bounded: a real one is a few kilobytes.
MAX_BYTES = 1 << 20
#: Values a file may expand to: aliases (``*name``) repeat what they point to, and a few
#: hundred bytes of aliases that repeat each other would otherwise expand to gigabytes.
MAX_VALUES = 20_000
#: Nesting of mappings and lists; deeper is no targets file, and would exhaust the stack.
MAX_DEPTH = 64
#: Integers must fit in 64 bits: every count, rate and size perfgate hands on does.
MAX_INT = (1 << 63) - 1


@dataclass
class LineMap:
    """Where each key path stands: the key's position and the value's position (1-based)."""

    path: str
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def location(self, key_path: Path_, prefer_key: bool = False) -> Location:
        """The location of ``key_path`` or of its nearest ancestor that is in the file."""
        for end in range(len(key_path), -1, -1):
            prefix = tuple(key_path[:end])
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for t in table:
                if prefix in t:
                    line, col = t[prefix]
                    return Location(self.path, line, col)
        return Location(self.path, 1, 1)


def format_key(key_path: Path_) -> str:
    """``("scenarios", "load", "requests", 1, "path")`` → ``scenarios.load.requests[1].path``."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Builder:
    def __init__(self, path: str, environ: dict[str, str]) -> None:
        self.lines = LineMap(path)
        self.environ = environ
        self.secrets: set[str] = set()
        self.missing: list[ConfigError] = []
        self.loader: yaml.SafeLoader | None = None
        #: Values built so far, aliases expanded.
        self.values = 0

    def build(self, node: yaml.Node, key_path: Path_) -> Any:
        mark = node.start_mark
        self.values += 1
        if self.values > MAX_VALUES:
            raise ConfigError(f"the file expands to more than {MAX_VALUES} values (aliases "
                              "that repeat each other?); a targets file is far smaller",
                              self._loc(node), format_key(key_path))
        if len(key_path) > MAX_DEPTH:
            raise ConfigError(f"nested more than {MAX_DEPTH} levels deep", self._loc(node),
                              format_key(key_path[:MAX_DEPTH]))
        self.lines.values[key_path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise ConfigError("YAML merge keys (<<) are not supported",
                                      self._loc(key_node), format_key(key_path))
                key = self._scalar(key_node, key_path)
                if isinstance(key, list | dict) or key is None:
                    raise ConfigError("a key must be a plain name", self._loc(key_node),
                                      format_key(key_path))
                if not isinstance(key, str):
                    # A name as written: `on:` is a scenario called "on", not True.
                    key = key_node.value
                child = (*key_path, key)
                if key in out:
                    raise ConfigError(f"duplicate key {key!r}", self._loc(key_node),
                                      format_key(child))
                km = key_node.start_mark
                self.lines.keys[child] = (km.line + 1, km.column + 1)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key_path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, key_path)

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.lines.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def _scalar(self, node: yaml.Node, key_path: Path_) -> Any:
        assert self.loader is not None
        if not isinstance(node, yaml.ScalarNode):
            return self.build(node, key_path)
        try:
            value = self.loader.construct_object(node, deep=True)
        except ValueError:  # an integer of thousands of digits
            raise ConfigError(f"{node.value[:20]}... is out of range: a number here fits in "
                              f"64 bits (at most {MAX_INT})", self._loc(node),
                              format_key(key_path)) from None
        if isinstance(value, str) and "${" in value:
            value = self._interpolate(value, node, key_path)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ConfigError(f"{node.value} is out of range: a number here fits in 64 bits "
                              f"(at most {MAX_INT})", self._loc(node), format_key(key_path))
        return value

    def _interpolate(self, text: str, node: yaml.Node, key_path: Path_) -> str:
        def replace(m: re.Match[str]) -> str:
            kind, name, default = m.group(1), m.group(2), m.group(3)
            value = self.environ.get(name)
            if value is None:
                if default is None:
                    # Noted, not raised: every unset variable of the file is named at once.
                    self.missing.append(ConfigError(
                        f"environment variable {name} is not set (referenced as {m.group(0)}; "
                        f"set it, or give a default: ${{{kind}:{name}:-value}})",
                        self._loc(node), format_key(key_path)))
                    return ""
                value = default
            if (kind == "secret" or SECRET_NAME.search(name)) and value:
                self.secrets.add(value)
            return value

        return INTERPOLATION.sub(replace, text)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than :data:`MAX_DEPTH` as it scans and
    composes: its scanner slows down with every open level and its composer recurses once
    per level, so a deep file would take minutes or exhaust the stack."""

    depth = 0

    def _too_deep(self) -> ConfigError:
        mark = self.get_mark()
        return ConfigError(f"nested more than {MAX_DEPTH} levels deep",
                           Location(str(self.name), mark.line + 1, mark.column + 1))

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise self._too_deep()
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise self._too_deep()
        return bool(super().add_indent(column))

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConfigError(f"nested more than {MAX_DEPTH} levels deep",
                                  Location(str(self.name), mark.line + 1, mark.column + 1))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(text: str, path: str,
              environ: dict[str, str] | None = None) -> tuple[Any, LineMap, set[str]]:
    """Parse ``text``; return (data, line map, secret values met during interpolation).

    Bounded: at most :data:`MAX_BYTES` of text, :data:`MAX_VALUES` values once aliases are
    expanded, :data:`MAX_DEPTH` levels of nesting, integers of 64 bits.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(f"the file is larger than {MAX_BYTES // 1024} KiB; a targets file "
                          "is a few kilobytes", Location(path))
    builder = _Builder(path, dict(os.environ if environ is None else environ))
    loader = _Loader(text)
    loader.name = path
    builder.loader = loader
    try:
        node = loader.get_single_node()
        if node is None:
            return None, builder.lines, builder.secrets
        data = builder.build(node, ())
        if builder.missing:
            raise (builder.missing[0] if len(builder.missing) == 1
                   else ConfigErrors(builder.missing))
    except ConfigErrors:
        raise
    except ConfigError as exc:
        if not builder.secrets:
            raise
        redact = Redactor(builder.secrets).text  # a duplicate key may be a secret's value
        raise ConfigError(redact(exc.message), exc.location,
                          redact(exc.key) if exc.key else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise ConfigError(f"invalid YAML: {_explain(exc, text)}", loc) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", Location(path)) from None
    finally:
        loader.dispose()
    return data, builder.lines, builder.secrets


def _explain(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's complaint, in words that say what to fix for the usual mistakes."""
    problem = exc.problem or exc.context or "invalid YAML"
    mark = exc.problem_mark
    if mark is not None and text[mark.index:mark.index + 1] == "\t":
        return "a tab character; YAML is indented with spaces, not tabs"
    if problem.startswith("expected <block end>"):
        return "this line is not indented like the lines before it (check the indentation)"
    if problem == "mapping values are not allowed here":
        return ("unexpected ':' (quote a value that contains ': ', or check the "
                "indentation)")
    if exc.context and exc.context_mark is not None and exc.context.startswith("while "):
        start = exc.context_mark
        context = exc.context
        for word, plain in (("flow sequence", "[...] list"), ("flow mapping", "{...} mapping"),
                            ("scalar", "value")):
            context = context.replace(word, plain)
        return (f"{problem} {context} that starts at line {start.line + 1}, "
                f"column {start.column + 1}")
    return problem
