"""Plugin discovery: entry points, import failures, hook typos, disabling, registration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perfgate import Collector, LoadDriver, hookimpl
from perfgate.errors import ConfigError, PluginError
from perfgate.plugins import PluginHost, extra_plugins
from perfgate.registry import ComponentRegistry


def make_dist(site: Path, dist: str, entry: str, module: str, source: str | None) -> None:
    """An installed distribution on ``site``: metadata, one perfgate entry point, a module."""
    info = site / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[perfgate]\n{entry} = {module}\n")
    if source is not None:
        (site / f"{module}.py").write_text(textwrap.dedent(source))


def perfgate(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PERFGATE_NO_ENTRYPOINTS", "PERFGATE_DISABLE_PLUGINS")}
    environ.update(PYTHONPATH=str(site), **env)
    return subprocess.run([sys.executable, "-m", "perfgate.cli", *args], env=environ,
                          capture_output=True, text=True, timeout=60)


GOOD = """
    from perfgate import Collector, hookimpl

    class Thermo(Collector):
        name = "thermo"

    @hookimpl
    def perfgate_register_components(register):
        register(Thermo)
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    make_dist(tmp_path, "perfgate-broken", "broken", "broken_plugin_mod",
              "import does_not_exist_anywhere\n")
    make_dist(tmp_path, "perfgate-typo", "typo", "typo_plugin_mod", """
        from perfgate import hookimpl

        @hookimpl
        def perfgate_register_component(register):  # missing s: matches no hookspec
            pass
    """)
    make_dist(tmp_path, "perfgate-thermo", "thermo", "thermo_plugin_mod", GOOD)
    return tmp_path


def test_plugins_lists_name_distribution_version_and_components(site):
    out = perfgate(site, "plugins")
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()[2:]}
    assert lines["thermo"].split()[1:4] == ["perfgate-thermo", "0.3", "thermo"]
    assert "(collector)" in lines["thermo"]
    assert "system (collector)" in lines["system"]
    assert "Error importing plugin 'broken' (perfgate-broken): ModuleNotFoundError" \
           in lines["broken"]
    assert "perfgate_register_component" in lines["typo"] and "BROKEN" in lines["typo"]


def test_a_broken_plugin_the_file_does_not_use_cannot_break_the_run(site, tmp_path):
    targets = tmp_path / "t.yml"
    targets.write_text("version: 1\ncollectors: {thermo: {}}\nreporters: {json: {}}\n")
    out = perfgate(site, "run", str(targets), "--output", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "result.json").exists()


def test_unknown_component_error_names_the_plugins_that_failed(site, tmp_path):
    targets = tmp_path / "t.yml"
    targets.write_text("version: 1\ncollectors:\n  brokencollector: {}\n")
    out = perfgate(site, "check", str(targets))
    assert out.returncode == 2
    assert f"{targets}:3:3: collectors.brokencollector: unknown collector 'brokencollector'" \
           in out.stderr
    installed = out.stderr.split("Installed collectors: ")[1].split(".")[0].split(", ")
    assert {"system", "thermo"} <= set(installed)
    assert "Error importing plugin 'broken' (perfgate-broken)" in out.stderr
    assert "Traceback" not in out.stderr


def test_disable_plugins_blocks_them(site):
    out = perfgate(site, "plugins", PERFGATE_DISABLE_PLUGINS="broken, thermo")
    names = [line.split()[0] for line in out.stdout.splitlines()[2:]]
    assert "broken" not in names and "thermo" not in names and "typo" in names


def test_no_entrypoints_switch_keeps_only_builtins(site):
    out = perfgate(site, "plugins", PERFGATE_NO_ENTRYPOINTS="1")
    names = sorted(line.split()[0] for line in out.stdout.splitlines()[2:])
    assert names == ["baseline", "console", "json", "system", "thresholds"]


class Dup(Collector):
    name = "system"


def test_two_plugins_registering_one_name_is_an_error():
    class Plugin:
        @hookimpl
        def perfgate_register_components(self, register):
            register(Dup)

    with extra_plugins(Plugin()):
        host = PluginHost.load()
    broken = [p for p in host.plugins if p.error]
    assert broken and "two plugins register the collector 'system'" in broken[0].error


def test_registry_rejects_what_is_not_a_component():
    registry = ComponentRegistry()
    with pytest.raises(PluginError, match="not a Collector"):
        registry.add(object, None)  # type: ignore[arg-type]

    class Nameless(LoadDriver):
        pass

    with pytest.raises(PluginError, match="has no name"):
        registry.add(Nameless, None)


def test_fixture_registers_for_one_test_only(perfgate_plugin, tmp_path):
    class Thermo(Collector):
        name = "fixture-thermo"

    class Plugin:
        @hookimpl
        def perfgate_register_components(self, register):
            register(Thermo)

    perfgate_plugin(Plugin())
    assert PluginHost.load().registry.get("collector", "fixture-thermo") is Thermo


def test_fixture_registration_is_gone_in_the_next_test(tmp_path):
    from perfgate.testing import run_targets

    with pytest.raises(ConfigError, match="unknown collector 'fixture-thermo'"):
        run_targets("version: 1\ncollectors: {fixture-thermo: {}}\n", output_dir=tmp_path)
