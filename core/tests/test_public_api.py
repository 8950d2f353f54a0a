"""The plugin API is ``perfgate`` and ``perfgate.testing``: plugins import nothing else.

- Every plugin's source (``plugins/*/src``), the guide's example plugin (source and tests) and
  the Python blocks of docs/plugins.md import from ``perfgate`` and ``perfgate.testing`` only;
  anything deeper is the core's own business and may move.
- Everything ``perfgate`` exports is used by a plugin, the built-in plugins, the example or
  the docs: the API holds what plugins need, not everything that exists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import perfgate

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"perfgate", "perfgate.testing"}
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def plugin_sources() -> list[Path]:
    files = sorted(ROOT.glob("plugins/*/src/**/*.py"))
    files += sorted((ROOT / "examples" / "plugin-json-gauge").glob("**/*.py"))
    return [f for f in files if "egg-info" not in str(f)]


def guide_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    return [(f"docs/plugins.md:{text.count(chr(10), 0, m.start()) + 1}", m.group(1))
            for m in _FENCE.finditer(text)]


def perfgate_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every import of a perfgate module, at any depth of the code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "perfgate":
                    yield node.lineno, alias.name
        elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
              and node.module.split(".")[0] == "perfgate"):
            yield node.lineno, node.module
            if node.module == "perfgate":  # from perfgate import testing
                yield from ((node.lineno, f"perfgate.{a.name}") for a in node.names
                            if a.name not in perfgate.__all__)


def test_there_are_plugins_to_check():
    assert len(plugin_sources()) > 30
    assert len(guide_blocks()) >= 5


@pytest.mark.parametrize("path", plugin_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_plugin_imports_only_the_public_api(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    wrong = [f"{path.relative_to(ROOT)}:{line}: {module}"
             for line, module in perfgate_imports(tree) if module not in PUBLIC]
    assert not wrong, ("plugins import perfgate's public API only (perfgate, "
                       "perfgate.testing); export what is missing from perfgate instead:\n"
                       + "\n".join(wrong))


@pytest.mark.parametrize(("where", "code"), guide_blocks(), ids=[w for w, _ in guide_blocks()])
def test_the_guide_imports_only_the_public_api(where, code):
    wrong = [module for _, module in perfgate_imports(ast.parse(code)) if module not in PUBLIC]
    assert not wrong, f"{where} imports {wrong[0]}: the guide shows the public API only"


def test_every_export_is_used_by_a_plugin_or_the_docs():
    texts = [p.read_text(encoding="utf-8") for p in plugin_sources()]
    texts += [p.read_text(encoding="utf-8")
              for p in sorted((ROOT / "core" / "src" / "perfgate" / "builtin").glob("*.py"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))]
    # The list of API changes names every new export: it does not count as a use.
    corpus = re.sub(r"^## API changes\n.*?(?=^## )", "", "\n".join(texts), flags=re.M | re.S)
    unused = [name for name in perfgate.__all__ if name != "__version__"
              and not re.search(rf"\b{re.escape(name)}\b", corpus)]
    assert not unused, f"perfgate exports what no plugin or doc uses: {', '.join(unused)}"


def test_every_export_exists():
    for name in perfgate.__all__:
        assert hasattr(perfgate, name), name
