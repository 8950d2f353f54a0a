"""The docs cannot fall behind the code.

- Every hook in :mod:`perfgate.hookspecs` has a docstring with a ``:param`` line per parameter,
  and a section in docs/plugins.md under a heading that is exactly its name in backticks,
  which names every parameter.
- The example plugin that docs/plugins.md shows whole is, byte for byte, the package in
  examples/plugin-json-gauge, and those files are the whole plugin: built from the guide
  alone, they make a wheel that perfgate loads.
- Every Python, YAML and TOML block in docs/ parses, and every relative link points at a file
  (and heading) that exists.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from perfgate import hookspecs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDE = DOCS / "plugins.md"
EXAMPLE = ROOT / "examples" / "plugin-json-gauge"
#: Not part of the plugin itself: its tests, its README, and what builds and runs leave behind.
EXAMPLE_EXTRAS = {"README.md", "tests"}
EXAMPLE_LITTER = re.compile(r"(^|/)(__pycache__|[^/]*\.egg-info|build|dist|\.[^/]*)(/|$)")

HOOKS = sorted(name for name, obj in vars(hookspecs).items()
               if name.startswith("perfgate_") and inspect.isfunction(obj))

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_SHOWN_FILE = re.compile(r"^<!-- file: (?P<path>\S+) -->\n```[\w-]*\n(?P<code>.*?)\n```$",
                         re.M | re.S)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _markdown(path: Path) -> str:
    """The text with fenced code blocks blanked out (so ``# comment`` lines are no headings)."""
    text = path.read_text(encoding="utf-8")
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _sections(path: Path) -> dict[str, str]:
    """Heading text → the text under it, up to the next heading of the same or a higher level."""
    text = _markdown(path)
    headings = list(_HEADING.finditer(text))
    sections = {}
    for i, heading in enumerate(headings):
        level = len(heading.group(1))
        end = next((h.start() for h in headings[i + 1:] if len(h.group(1)) <= level), len(text))
        sections[heading.group(2)] = text[heading.end():end]
    return sections


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's) gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _code_blocks(language: str) -> list[tuple[str, str]]:
    """``(file:line, code)`` for every fenced block of ``language`` in docs/."""
    blocks = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            if m.group(1) == language:
                line = text.count("\n", 0, m.start()) + 1
                blocks.append((f"{path.name}:{line}", m.group(2)))
    return blocks


# -- hooks -------------------------------------------------------------------------------------


def test_the_hooks_are_found():
    assert "perfgate_register_components" in HOOKS
    assert len(HOOKS) >= 5


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_a_hookspec(name):
    assert hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec"), (
        f"{name} is named like a hook but is not decorated with @hookspec")


@pytest.mark.parametrize("name", HOOKS)
def test_hook_docstring_has_a_param_line_per_parameter(name):
    hook = getattr(hookspecs, name)
    doc = inspect.getdoc(hook)
    assert doc, f"{name} has no docstring"
    assert doc.splitlines()[0].strip(), f"{name}'s docstring has no summary line"
    parameters = list(inspect.signature(hook).parameters)
    documented = re.findall(r"^:param (\w+):", doc, re.M)
    missing = [p for p in parameters if p not in documented]
    assert not missing, f"{name}'s docstring has no ':param {missing[0]}:' line"
    stale = [p for p in documented if p not in parameters]
    assert not stale, f"{name}'s docstring documents ':param {stale[0]}:', not a parameter"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_in_the_plugin_guide(name):
    sections = _sections(GUIDE)
    heading = f"`{name}`"
    assert heading in sections, (
        f"docs/plugins.md has no heading '### {heading}': document the hook there")
    section = sections[heading]
    for parameter in inspect.signature(getattr(hookspecs, name)).parameters:
        assert f"`{parameter}`" in section, (
            f"docs/plugins.md, section {heading}, does not describe the parameter "
            f"`{parameter}`")


def test_every_hook_heading_in_the_guide_is_a_hook():
    headings = [h for h in _sections(GUIDE) if re.fullmatch(r"`perfgate_\w+`", h)]
    assert headings, "docs/plugins.md documents no hook"
    unknown = [h for h in headings if h.strip("`") not in HOOKS]
    assert not unknown, f"docs/plugins.md documents {unknown[0]}, which is not a hook"


# -- the example plugin ------------------------------------------------------------------------


def _shown_files() -> dict[str, str]:
    text = GUIDE.read_text(encoding="utf-8")
    return {m.group("path"): m.group("code") for m in _SHOWN_FILE.finditer(text)}


def _example_files() -> list[str]:
    files = []
    for path in sorted(EXAMPLE.rglob("*")):
        relative = path.relative_to(EXAMPLE).as_posix()
        if (path.is_file() and relative.split("/")[0] not in EXAMPLE_EXTRAS
                and not EXAMPLE_LITTER.search(relative)):
            files.append(relative)
    return files


def test_the_guide_shows_the_whole_example_plugin():
    prefix = EXAMPLE.relative_to(ROOT).as_posix() + "/"
    shown = sorted(p.removeprefix(prefix) for p in _shown_files() if p.startswith(prefix))
    assert _example_files() == ["pyproject.toml", "src/perfgate_json_gauge/__init__.py"]
    assert shown == _example_files(), (
        "docs/plugins.md must show every file of examples/plugin-json-gauge (besides README "
        "and tests), each after a line '<!-- file: examples/plugin-json-gauge/<path> -->'")


@pytest.mark.parametrize("path", sorted(_shown_files()))
def test_a_file_shown_in_the_guide_is_the_file_in_the_repository(path):
    code = _shown_files()[path]
    actual = (ROOT / path).read_text(encoding="utf-8")
    assert code + "\n" == actual, (
        f"docs/plugins.md shows a different {path}: copy the file into the guide again")


def test_the_example_plugin_registers_its_collector_by_its_entry_point():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "perfgate-json-gauge"
    assert project["project"]["entry-points"]["perfgate"] == {"json-gauge": "perfgate_json_gauge"}
    module = ast.parse((EXAMPLE / "src/perfgate_json_gauge/__init__.py").read_text())
    hooks = [node.name for node in module.body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("perfgate_")]
    assert hooks == ["perfgate_register_components"]


# -- code blocks and links -----------------------------------------------------------------


@pytest.mark.parametrize(("where", "code"), _code_blocks("python"))
def test_python_blocks_compile(where, code):
    compile(code, where, "exec")


@pytest.mark.parametrize(("where", "code"), _code_blocks("yaml"))
def test_yaml_blocks_parse(where, code):
    assert yaml.safe_load(code) is not None, f"{where}: an empty YAML block"


@pytest.mark.parametrize(("where", "code"), _code_blocks("toml"))
def test_toml_blocks_parse(where, code):
    tomllib.loads(code)


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_point_at_what_exists(page):
    text = _markdown(DOCS / page)
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (DOCS / file_part).resolve() if file_part else DOCS / page
        assert path.exists(), f"docs/{page} links to {target}, which does not exist"
        if anchor and path.suffix == ".md":
            anchors = {_slug(h) for h in _sections(path)}
            assert anchor in anchors, f"docs/{page} links to {target}: no such heading"


def test_the_example_plugin_builds_and_loads_from_the_guide_alone(tmp_path):
    """The files the guide shows, and nothing else, make a wheel that perfgate loads."""
    import subprocess
    import sys
    import zipfile

    prefix = EXAMPLE.relative_to(ROOT).as_posix() + "/"
    source = tmp_path / "plugin"
    for path, code in _shown_files().items():
        if path.startswith(prefix):
            target = source / path.removeprefix(prefix)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code + "\n", encoding="utf-8")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("perfgate_json_gauge-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        assert "[perfgate]\njson-gauge = perfgate_json_gauge" in archive.read(
            entry_points).decode()
    targets = tmp_path / "targets.yml"
    guide = GUIDE.read_text(encoding="utf-8")  # its first targets file using the plugin
    targets.write_text(next(code for lang, code in _FENCE.findall(guide)
                            if lang == "yaml" and "json-gauge:" in code), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFGATE_")}
    env.update(PYTHONPATH=str(site), PERFGATE_NO_ENTRYPOINTS="1",
               PERFGATE_PLUGINS="perfgate_json_gauge")
    checked = subprocess.run([sys.executable, "-m", "perfgate.cli", "check", str(targets)],
                             capture_output=True, text=True, env=env, timeout=60,
                             cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "OK: 0 services, 0 scenarios, 1 collector" in checked.stdout
