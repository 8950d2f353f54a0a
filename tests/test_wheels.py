"""``./dev build`` makes a wheel of perfgate and of every plugin, and they install and work
in a fresh virtual environment, away from this repository.

perfgate and its plugins come only from the wheels: the fresh environment never sees the
source tree or this environment's editable installs. Their third-party dependencies
(pydantic, aiohttp, locust...) are this environment's, linked read-only, because installing
them again from an index takes minutes; ``pip check`` then proves that every dependency the
wheels declare is met.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What this environment has that a fresh one must get from the wheels, or not at all.
OURS = ("perfgate", "_perfgate", "__editable__", "demo_app", "pip")


def distributions() -> dict[str, str]:
    """Wheel file name → distribution name, for core/ and every plugins/*/."""
    out = {}
    for project in [ROOT / "core", *sorted((ROOT / "plugins").glob("*/"))]:
        meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
        wheel = f"{meta['name'].replace('-', '_')}-{meta['version']}-py3-none-any.whl"
        out[wheel] = meta["name"]
    return out


def fresh_venv(path: Path) -> Path:
    """A virtual environment with no perfgate in it, sharing only third-party packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    shared = path / "shared"
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OURS) and entry.suffix != ".pth":
            (shared / entry.name).symlink_to(entry)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "shared-dependencies.pth").write_text(f"{shared}\n")
    return python


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("PERFGATE_") and k != "PYTHONPATH"}


@pytest.mark.slow  # eleven setuptools builds: about 30 s on an idle machine
def test_wheels_build_install_and_find_every_plugin(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run([str(ROOT / "dev"), "build", str(dist)], capture_output=True,
                           text=True, env={**clean_env(), "PERFGATE_VENV": sys.prefix})
    assert built.returncode == 0, built.stdout + built.stderr
    expected = distributions()
    assert sorted(p.name for p in dist.glob("*.whl")) == sorted(expected)

    python = fresh_venv(tmp_path / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    installed = subprocess.run([*pip, "install", "-q", "--no-deps", "--no-index",
                                *map(str, sorted(dist.glob("*.whl")))],
                               capture_output=True, text=True, env=clean_env())
    assert installed.returncode == 0, installed.stdout + installed.stderr
    checked = subprocess.run([*pip, "check"], capture_output=True, text=True, env=clean_env())
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The code and its data (the result schema) come from the fresh environment.
    where = subprocess.run(
        [str(python), "-c", "import perfgate, perfgate_markdown; print(perfgate.__file__); "
                            "print(perfgate_markdown.__file__); print(perfgate.result_schema()"
                            "['properties']['schema']['const'])"],
        capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    core, markdown, schema = where.stdout.split()
    assert core.startswith(str(tmp_path / "venv")) and markdown.startswith(str(tmp_path))
    assert schema == "perfgate-result/1"

    listed = subprocess.run([str(tmp_path / "venv" / "bin" / "perfgate"), "plugins"],
                            capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "BROKEN" not in listed.stdout
    found = {line.split()[1] for line in listed.stdout.splitlines()[2:] if line.strip()}
    assert found == set(expected.values())
