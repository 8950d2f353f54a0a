"""What can be learned from a k6 script without running it: the custom metrics it declares.

``new Trend('db_query_time', true)`` declares a trend in milliseconds; ``new Rate(...)``,
``new Counter(...)`` and ``new Gauge(...)`` the other kinds. Local modules the script imports
(``./lib/metrics.js``) are read too, so targets on custom metrics are checked before a run.
"""

from __future__ import annotations

import re
from pathlib import Path

from perfgate import Kind, MetricInfo

_DECLARATION = re.compile(
    r"new\s+(Trend|Rate|Counter|Gauge)\s*\(\s*(['\"`])([^'\"`]+)\2\s*(,\s*true\b)?")
_LOCAL_IMPORT = re.compile(r"""(?:from|import)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""")
_KINDS = {"Trend": Kind.TREND, "Rate": Kind.RATE, "Counter": Kind.COUNTER, "Gauge": Kind.GAUGE}
_MAX_FILES = 50


def declared_metrics(script: Path) -> list[MetricInfo]:
    """Custom metrics declared in ``script`` and the local modules it imports."""
    found: dict[str, MetricInfo] = {}
    todo = [script.resolve()]
    seen: set[Path] = set()
    while todo and len(seen) < _MAX_FILES:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for kind, _, name, is_time in _DECLARATION.findall(text):
            unit = "ms" if is_time and kind in ("Trend", "Gauge") else ""
            if kind == "Rate":
                unit = "ratio"
            found.setdefault(name, MetricInfo(name, _KINDS[kind], unit, "custom k6 metric"))
        for module in _LOCAL_IMPORT.findall(text):
            todo.append((path.parent / module).resolve())
    return list(found.values())


def resolve(script: str, base: Path | None) -> Path:
    """The script's path, found or not: absolute as written, else under ``base`` (or the cwd)."""
    path = Path(script).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path


def locate(script: str, base: Path | None) -> Path | None:
    """The script's path if it is a file, else None (see :func:`resolve`)."""
    path = resolve(script, base)
    return path if path.is_file() else None
