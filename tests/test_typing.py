"""The core and every plugin type-check with mypy, strictly (settings: root pyproject.toml).

Strict means, among others, that a value typed ``Connection | str`` (an object or the name
of what went wrong) cannot be used as the object before the ``str`` case is handled, and a
function that returns ``Any`` into a typed result is an error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def packages() -> list[Path]:
    """``core/src/perfgate`` and the package of every plugin and example distribution."""
    found = [ROOT / "core" / "src" / "perfgate"]
    for src in sorted([*ROOT.glob("plugins/*/src"), *ROOT.glob("examples/*/src")]):
        found += sorted(p for p in src.iterdir()
                        if p.is_dir() and (p / "__init__.py").exists())
    return found


def mypy(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    if not Path(exe).exists():
        pytest.skip("mypy is not installed")
    return subprocess.run([exe, "--config-file", str(ROOT / "pyproject.toml"),
                           *map(str, paths)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_every_plugin_is_checked():
    names = {p.name for p in packages()}
    assert {"perfgate", "perfgate_aiohttp_api", "perfgate_k6_driver", "perfgate_locust",
            "perfgate_json_gauge"} <= names
    assert len(names) == 1 + len(list(ROOT.glob("plugins/*/src"))) + len(
        list(ROOT.glob("examples/*/src")))


def test_mypy_is_clean():
    out = mypy(*packages())
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_settings_catch_a_sentinel_used_as_the_object(tmp_path):
    sample = tmp_path / "sentinel.py"
    sample.write_text(
        "class Connection:\n"
        "    def send(self) -> None: ...\n\n\n"
        "def connect() -> Connection | str:\n"
        "    return 'refused'\n\n\n"
        "def use() -> None:\n"
        "    connect().send()\n")
    out = mypy(sample)
    assert out.returncode == 1
    assert 'Item "str" of "Connection | str" has no attribute "send"' in out.stdout
