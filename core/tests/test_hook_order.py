"""The plugin host follows pluggy: call order, ``specname=``, and wrappers refused clearly.

Each case is checked against what pluggy itself does with the same plugins (``pm.hook.x()``),
so perfgate's own loop over implementations cannot drift from pluggy's semantics.
"""

from __future__ import annotations

from typing import Any

import pluggy

from perfgate import hookimpl
from perfgate.hookspecs import PROJECT
from perfgate.plugins import PluginHost, extra_plugins


def calls_recorded(*plugins: Any) -> tuple[list[str], list[str]]:
    """What perfgate calls, in order, and what pluggy calls with the same plugins."""
    seen: list[str] = []
    with extra_plugins(*plugins):
        host = PluginHost.load()
    assert not [p.error for p in host.failures]
    for plugin in plugins:
        plugin.seen = seen
    failures = host.run_started(context=None)
    assert failures == []
    ours = list(seen)
    seen.clear()
    host.pm.hook.perfgate_run_started(context=None)  # pluggy's own call, same plugins
    return ours, list(seen)


class Marked:
    """A plugin whose run_started implementation carries pluggy's ordering markers."""

    def __init__(self, label: str, **marks: bool) -> None:
        self.label = label
        self.seen: list[str] = []
        impl = hookimpl(**marks)(lambda context: self.seen.append(label))
        self.perfgate_run_started = impl


def test_tryfirst_first_trylast_last_otherwise_the_last_registered_first(test_plugins):
    plugins = (Marked("late", trylast=True), Marked("a"), Marked("first", tryfirst=True),
               Marked("b"))
    ours, pluggys = calls_recorded(*plugins)
    assert ours == ["first", "b", "a", "late"]
    assert ours == pluggys


def test_specname_names_the_hook_an_implementation_is_for(test_plugins):
    from perfgate import Collector

    class Thermo(Collector):
        name = "specname-thermo"

    class Plugin:
        seen: list[str]

        @hookimpl(specname="perfgate_run_started")
        def started(self, context: Any) -> None:
            self.seen.append("started")

        @hookimpl(specname="perfgate_register_components")
        def components(self, register: Any) -> None:
            register(Thermo)

    plugin = Plugin()
    ours, pluggys = calls_recorded(plugin)
    assert ours == pluggys == ["started"]
    with extra_plugins(plugin):
        assert PluginHost.load().registry.get("collector", "specname-thermo") is Thermo


def test_a_hook_wrapper_is_refused_with_a_message_and_its_plugin_is_broken(test_plugins):
    class Wrapping:
        @hookimpl(wrapper=True)
        def perfgate_run_started(self, context: Any) -> Any:
            return (yield)

    class OldWrapping:
        @hookimpl(hookwrapper=True)
        def perfgate_run_finished(self) -> Any:
            yield

    with extra_plugins(Wrapping(), OldWrapping()):
        host = PluginHost.load()
    errors = {p.name: p.error for p in host.failures}
    assert set(errors) == {"Wrapping", "OldWrapping"}
    assert "Wrapping.perfgate_run_started is a hook wrapper" in errors["Wrapping"]
    assert "implement the hook without wrapper=" in errors["Wrapping"]
    assert "OldWrapping.perfgate_run_finished is a hook wrapper" in errors["OldWrapping"]
    # Refused means not registered: the run does not call it, pluggy does not either.
    assert host.pm.hook.perfgate_run_started.get_hookimpls() == []
    assert host.run_started(context=None) == []


def test_pluggy_would_run_a_wrapper_around_the_others(test_plugins):
    """Why wrappers are refused rather than ignored: pluggy runs them, so ignoring one would
    silently drop what its author wrote."""
    pm = pluggy.PluginManager(PROJECT)
    from perfgate import hookspecs

    pm.add_hookspecs(hookspecs)
    seen: list[str] = []

    class Wrapping:
        @hookimpl(wrapper=True)
        def perfgate_run_started(self, context: Any) -> Any:
            seen.append("before")
            result = yield
            seen.append("after")
            return result

    pm.register(Wrapping())
    pm.register(Marked("plain"))
    for plugin in pm.get_plugins():
        if isinstance(plugin, Marked):
            plugin.seen = seen
    pm.hook.perfgate_run_started(context=None)
    assert seen == ["before", "plain", "after"]


def test_the_builtin_plugins_are_listed_once(test_plugins):
    host = PluginHost.load()
    names = [p.name for p in host.plugins]
    assert sorted(names) == sorted(set(names))
    assert {"system", "thresholds", "baseline", "console", "json"} <= set(names)
