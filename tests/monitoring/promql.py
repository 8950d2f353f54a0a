"""The metric names a PromQL expression reads, and Grafana's variables filled in."""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
             "group_left", "group_right", "inf", "nan", "Inf", "NaN"}


def metric_names(expr: str) -> set[str]:
    """Every metric name in ``expr`` (not functions, labels, keywords or numbers)."""
    bare = _STRING.sub('""', expr)
    bare = _MATCHERS.sub("", bare)
    bare = _RANGE.sub("", bare)
    bare = _LABEL_LIST.sub("", bare)
    return {name for name in _IDENTIFIER.findall(bare)
            if name not in _KEYWORDS and not re.fullmatch(r"e\d+", name)}


def fill_grafana_variables(expr: str) -> str:
    """``expr`` as Grafana sends it, with ``$job`` matching everything and a 1m rate window."""
    return (expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
            .replace("$__range", "5m").replace("$job", ".+"))
